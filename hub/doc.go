// Package hub turns model names into model folders: org/name[@revision] is looked up in the
// Hugging Face cache, laid out exactly as Python's huggingface_hub lays it out, and what is
// missing is downloaded from the hub ($HF_ENDPOINT). Models that transformers, vLLM or the hf CLI
// downloaded are reused without a request, and what moslora downloads they reuse in turn.
//
//	dir, err := hub.Resolve(ctx, "Qwen/Qwen3-0.6B", opts)  // a folder that exists wins
//	snap, err := hub.Download(ctx, name, opts)              // always asks which commit the revision is
//
// The cache (see repoCache for the full layout) is $HF_HUB_CACHE, else $HF_HOME/hub, else
// ~/.cache/huggingface/hub; a revision's commit is in refs/<revision>; snapshots/<commit>/<file>
// are relative symlinks to blobs/<etag>, where an LFS file's ETag is its SHA-256 and a git file's
// its git blob id. Only the files a model needs are fetched (config.json, generation_config.json,
// the tokenizer files and chat_template.jinja, and the safetensors weights: model.safetensors,
// or model.safetensors.index.json and the shards it names), chosen from the revision's file list
// (GET /api/models/{repo}/revision/{rev}); the model files the revision lacks are recorded in
// .no_exist/<commit>/ as huggingface_hub records them.
//
// # Invariants
//
//   - A snapshot entry appears only after its blob is complete and verified: a blob is written as
//     blobs/<etag>.incomplete and renamed into place, and the entry is a symlink made under a
//     temporary name and renamed, so a reader sees either nothing or the whole file.
//   - Every blob whose ETag is a SHA-256 (LFS, the weights) or a git SHA-1 is checked against it
//     and against the announced size; a mismatch deletes the download and fails.
//   - A cut-off download keeps its bytes in .incomplete; the next call resumes with Range.
//   - One process at a time downloads a blob: .locks/models--org--name/<etag>.lock is held with
//     flock, the lock huggingface_hub takes, while it is fetched.
//   - Resolve makes no request when the cache already holds a loadable model for the name;
//     with HF_HUB_OFFLINE it never makes one, and the error names what the cache lacks.
//   - The token is sent to the hub only, never to the CDN a large file redirects to.
//   - A value that names an existing path is a path; Resolve returns it untouched.
//
// # Why not github.com/gomlx/go-huggingface
//
// Evaluated at v0.3.1 (the version the Go module proxy serves). It names the cache folders the
// same way but does not get the rest right: it never writes or reads refs/<revision> (it keeps
// its own info/<revision> JSON and asks the hub again on every use, so a cache made by Python is
// not used offline and there is no offline mode); it downloads into a fresh .downloading file
// each time (no .incomplete, no Range: a cut-off shard starts again from zero); it verifies no
// checksum; its HEAD follows the LFS redirect, so the ETag and size come from the CDN's answer
// instead of the hub's X-Linked-Etag; it locks beside the blob rather than in .locks/, so a
// Python download of the same blob is not kept out; it reads only $XDG_CACHE_HOME, not
// $HF_HUB_CACHE or $HF_HOME; and on a read error in the body it wraps a nil error, so a
// truncated body is renamed into place as a complete blob. The client here is small: net/http,
// a progress bar, flock.
package hub
