// Package generate owns text generation on top of a loaded model: the sampling rules (greedy,
// temperature, top-k, top-p), the decode loop over the model's KV cache, the stop conditions
// (EOS ids from the tokenizer or generation_config.json, a token budget, the context limit) and
// the streaming of decoded text.
//
// One call of Generate feeds the prompt through model.ForwardCached in a single pass, then one
// token per step: each step costs one token's worth of work (its q/k/v against the cached keys and
// values), never a recomputation of the prompt.
//
// # Invariants
//
//   - Greedy decoding (Temperature 0, the default) is deterministic and picks the first maximum
//     logit, as torch.argmax does.
//   - Sampling is a deterministic function of the seed, the prompt and the model: the same Options
//     give the same ids.
//   - The returned ids are the prompt followed by the generated ids; a stop id that ended the
//     generation is included (as transformers' generate does); the streamed text pieces
//     concatenate to the decoding of all ids.
//   - Logits handed to a Sampler are never modified.
package generate
