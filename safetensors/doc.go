// Package safetensors reads and writes the Hugging Face safetensors format: an 8-byte little-endian
// header length N, N bytes of JSON header {"name": {"dtype", "shape", "data_offsets": [begin, end]},
// "__metadata__": {string: string}}, then the raw little-endian tensor bytes.
//
// # Invariants
//
//   - Every header is validated before any tensor is read: header length within the file and at
//     most MaxHeaderSize, JSON of the expected shape, known dtypes, non-negative dimensions,
//     end-begin == product(shape)·dtype size (with overflow checks), every range inside the data
//     section, and no two ranges overlapping. A hostile file yields an error, never a panic or an
//     allocation larger than the file.
//   - Errors name the file and the tensor.
//   - Tensor data is read lazily: opening a file reads only its header.
//   - Writers write to a temporary file in the destination folder and rename it into place.
package safetensors
