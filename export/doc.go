// Package export owns the files an adapter or model leaves this tool as: a Hugging Face model
// folder with the adapter merged into the base weights (Merged), a stock PEFT LoRA adapter with the
// mixer folded away (PEFT), the official MoSLoRA form with lora_AB (PEFTMoSLoRA), a GGUF LoRA
// adapter for llama.cpp / Ollama (GGUF), a complete llama.cpp GGUF model file (GGUFModel), an
// Ollama folder with a Modelfile (Ollama), and a small GGUF reader (ReadGGUF) to check them.
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
// # GGUF models
//
// GGUFModel writes what llama.cpp's convert_hf_to_gguf.py writes for the families we load, read
// from config.json, tokenizer.json, tokenizer_config.json and the safetensors checkpoint:
//
//   - general.architecture llama (LlamaForCausalLM, MistralForCausalLM), qwen2 or gpt2;
//     general.type "model", general.name (the folder's name), general.file_type (LlamaFileType
//     of --outtype), general.quantization_version 2.
//   - <arch>.block_count, context_length, embedding_length, feed_forward_length,
//     attention.head_count; Llama family also attention.head_count_kv, rope.freq_base,
//     attention.layer_norm_rms_epsilon, attention.key_length / value_length, vocab_size,
//     rope.dimension_count, rope.scaling.type/factor for linear rope and a rope_freqs.weight
//     tensor for llama3 rope; GPT-2 attention.layer_norm_epsilon.
//   - Tensors renamed to llama.cpp's (token_embd, blk.N.attn_q …, output_norm, output), the
//     Llama architecture's q/k weights (and biases) with rows permuted per head as LlamaModel.permute
//     does, GPT-2's Conv1D weights transposed to (out, in); a tied LM head is not written
//     (llama.cpp reuses token_embd).
//   - Types: 1-D tensors, *_norm.weight, biases and GPT-2's position embedding F32; the other
//     matrices in --outtype (F32, F16, BF16 round to nearest even; Q8_0 ggml's block of an f16
//     scale and 32 int8, with F16 for a row that is not a whole number of blocks).
//   - Tokenizer, byte-level BPE (tokenizer.ggml.model "gpt2"): tokens and token types as
//     get_vocab_base assigns them (added special or special-looking tokens CONTROL, other added
//     tokens USER_DEFINED, missing ids "[PAD<i>]" UNUSED), merges, special token ids and
//     add_bos/add_eos as gguf-py's SpecialVocab finds them, tokenizer.chat_template.
//     tokenizer.ggml.pre names llama.cpp's built-in pre-tokenizer whose regex equals the
//     tokenizer's Split regex (llama-bpe for Llama 3's, qwen2 for Qwen2's, gpt-2 for a plain
//     ByteLevel) — the converter identifies it by hashing a sample tokenization instead, which only
//     knows published vocabularies; an unknown regex is refused.
//   - Tokenizer, SentencePiece-style BPE with byte fallback (Llama 2 form: normalizer Prepend "▁" +
//     Replace " " → "▁", no pre-tokenizer) as tokenizer.ggml.model "llama", pre "default", with
//     tokenizer.ggml.scores: llama.cpp merges the adjacent pair whose concatenation has the highest
//     score, so a token scores minus the rank of its first merge (the converter's tokenizer.json
//     path writes -1000 for every token, which llama.cpp cannot merge by); <0xXX> tokens BYTE, the
//     unknown token UNKNOWN. Other forms (Metaspace pre-tokenizer) are refused.
//
// Ollama writes model.gguf (and adapter.gguf) with a Modelfile whose TEMPLATE is translated from
// ChatML and Llama 3 chat templates, and a README holding the ollama create command.
//
// # Invariants
//
//   - Nothing is half-written: every output goes to a temporary file or folder beside the
//     destination and is renamed into place when complete; an existing destination is an error
//     unless force is set, in which case it is replaced only after the new output is complete.
//   - The model and the adapter passed in are not modified, except that PEFT folds the adapter
//     it is given (documented there).
//   - A GGUF model file holds every checkpoint tensor and nothing else: a checkpoint tensor with no
//     GGUF counterpart, a missing or mis-shaped one, or a non-finite weight is an error, and
//     nothing is written.
//   - A gated mixer has an input-dependent ΔW: Merged, PEFT and GGUF refuse it with a message
//     saying why; PEFTMoSLoRA accepts only a dense mixer. An architecture GGUF cannot name, or a
//     module llama.cpp has no tensor for, is an error.
package export
