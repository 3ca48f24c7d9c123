// Package export owns the files an adapter leaves this tool as: a Hugging Face model folder with
// the adapter merged into the base weights (Merged), a stock PEFT LoRA adapter with the mixer
// folded away (PEFT), the official MoSLoRA form with lora_AB (PEFTMoSLoRA), and a GGUF LoRA
// adapter for llama.cpp / Ollama (GGUF), plus a small GGUF reader (ReadGGUF) to check the latter.
//
// # Merged folders
//
// The merged folder mirrors the base folder: every tensor of the base checkpoint keeps its name,
// shape and dtype (bf16 stays bf16; GPT-2 Conv1D weights are written back (in, out); tied
// embeddings stay tied, with no lm_head.weight); the tensors of adapted layers hold
// W + s·B·M·A rounded to that dtype, all others are copied byte for byte. config.json, the
// tokenizer and generation files are copied unchanged.
//
// # GGUF adapters
//
// llama.cpp's layout (convert_lora_to_gguf.py and llama-adapter.cpp): metadata
// general.architecture (llama, qwen2, gpt2), general.type = "adapter", adapter.type = "lora",
// adapter.lora.alpha (float32); for each adapted weight with GGUF name N ("blk.3.attn_q.weight")
// two F32 tensors N.lora_a with numpy shape (r, in) and N.lora_b with shape (out, r) (GGUF dims
// reversed: [in, r] and [r, out]). llama.cpp scales by alpha / r with r read from lora_b, so a
// module whose scale differs (rsLoRA, rank or alpha patterns) has the difference folded into its
// lora_b. For the llama architecture the q and k rows are permuted as convert_hf_to_gguf.py
// permutes the base q_proj / k_proj weights (rotary halves interleaved), so lora_b follows them.
// Shapes follow llama.cpp's loader check (lora_a ne[0] = base ne[0] = in, lora_b ne[1] = base
// ne[1] = out): GPT-2's Conv1D weights are (out, in) in GGUF after the converter's transpose, and
// our A (r, in), B (out, r) are already in that orientation.
//
// # Invariants
//
//   - Nothing is half-written: every output goes to a temporary file or folder beside the
//     destination and is renamed into place when complete; an existing destination is an error
//     unless force is set, in which case it is replaced only after the new output is complete.
//   - The model and the adapter passed in are not modified, except that PEFT folds the adapter
//     it is given (documented there).
//   - A gated mixer has an input-dependent ΔW: Merged, PEFT and GGUF refuse it with a message
//     saying why; PEFTMoSLoRA accepts only a dense mixer. An architecture GGUF cannot name, or a
//     module llama.cpp has no tensor for, is an error.
package export
