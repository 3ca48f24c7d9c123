// Package serve owns `moslora serve`: an OpenAI-compatible HTTP server for one base model and many
// adapters, with continuous batching across adapters.
//
// A request names its model: the base model's name or an adapter's folder name under the adapters
// directory, as vLLM does. Every request becomes a sequence of the scheduler, one goroutine that
// loops: admit queued sequences up to the batch limit, run one model.Batcher step over all of them
// (new sequences feed their prompt, running ones their last token), sample each sequence's next
// token, hand it to the request's handler, retire finished or cancelled sequences. Sequences with
// different adapters share every base product; each adapter adds its own low-rank term to its rows.
//
//	HTTP handler ─ encode prompt ─ queue (bounded) ─ scheduler ─ Batcher.Step ─ sampler ─ tokens ─ handler ─ JSON / SSE
//
// Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (stream: true as
// server-sent events ending in "data: [DONE]"), POST /v1/load_lora_adapter and
// /v1/unload_lora_adapter (vLLM's bodies; only with Options.RuntimeLoad), GET /health, GET
// /metrics (Prometheus). Errors use OpenAI's shape {"error": {"message", "type", "param", "code"}}.
// Chat requests are rendered with the model folder's chat template (package chat) when it has one,
// else with the project's documented format (package data, "Chat format").
//
// # Invariants
//
//   - A request's tokens do not depend on the other requests: greedy output (and sampled output
//     for a given seed) is bit for bit what the request gets alone (model.Batcher's invariant).
//   - The base model is never modified: adapters are loaded detached (adapter.LoadDetached) and
//     held as data (model.Deltas), so loading and unloading never race a step.
//   - Adapter paths of a runtime load stay inside the adapters directory: relative, no "..",
//     and their real path (symlinks resolved) inside the directory's real path.
//   - Work is bounded: at most Options.MaxQueue requests wait, at most Options.MaxBatch run, each
//     within Options.MaxContext tokens, Options.MaxBody bytes of body and Options.Timeout; a
//     request whose client goes away or whose time runs out leaves the batch at the next step.
//   - Only the scheduler goroutine runs the model and touches adapters' scratch buffers.
package serve
