// Package llamacpp holds the integration test that runs our GGUF exports in a real llama.cpp: the
// prebuilt CPU build that the npm package node-llama-cpp ships, pinned in package.json and driven
// by run.mjs. Install it once with
//
//	tests/llamacpp/install.sh
//
// (.ci/run does this); without Node or the installed package the test skips with a message.
//
// # Invariants
//
//   - On base-19m, llama.cpp's greedy continuation of every prompt equals `moslora generate`
//     token for token for the f32 and q8_0 GGUF model, the model with our GGUF LoRA and folded
//     MoSLoRA adapters, and the merged model; with f32 files the logits agree within tolLogits.
//   - llama.cpp tokenizes text exactly as our tokenizer does from the exported vocabulary.
//   - The perplexity of the f16 and q8_0 files on held-out text is within the stated margins of
//     ours at f32.
package llamacpp
