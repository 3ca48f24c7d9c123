// Package safetensors reads and writes the Hugging Face safetensors format: an 8-byte little-endian
// header length N, N bytes of JSON header {"name": {"dtype", "shape", "data_offsets": [begin, end]},
// "__metadata__": {string: string}}, then the raw little-endian tensor bytes.
//
// It owns single files (Open, NewReader, FromBytes → *File), model folders with or without a
// sharded index (OpenDir → *Set), the Source interface both satisfy, writing (Write, WriteFile,
// WriteSharded) and the dtype conversions (BF16, F16, F8 ↔ float32).
//
// # Invariants
//
//   - Every header is validated before any tensor is read: header length within the file and at
//     most MaxHeaderSize, UTF-8 JSON of the expected shape with no duplicate keys, known dtypes,
//     non-negative integer dimensions, end-begin == product(shape)·dtype size (with overflow
//     checks), and ranges that tile the data section exactly (no overlap, no gap, no trailing
//     bytes — what the reference implementation requires). A hostile file yields an error, never a
//     panic or an allocation larger than the file.
//   - Errors name the file and the tensor.
//   - Tensor data is read lazily: opening a file reads only its header. On unix the file is
//     memory-mapped read-only; Bytes then returns zero-copy views valid until Close, which must
//     not be written to. Raw always returns a copy the caller owns.
//   - In a Set every tensor lives in exactly one shard, and the index's weight_map agrees with
//     the shards' contents.
//   - Writers validate everything before writing, order tensors as the reference writer does
//     (larger dtypes first, then by name) so each tensor is aligned to its element size, pad the
//     header with spaces to a multiple of 8, and write to a temporary file in the destination
//     folder, fsync it and rename it into place.
package safetensors
