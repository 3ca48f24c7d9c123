// Package model owns Hugging Face decoder models in memory: config.json (transformers v4 and v5
// forms), strict weight loading, and a hand-written forward and backward pass (llm.c style) for
// the Llama family (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM,
// Gemma3ForCausalLM text) and GPT-2 (GPT2LMHeadModel).
//
// Data flow of one block (N = B·T token rows, C hidden, H query heads, KV key/value heads, D head
// dim, I MLP width):
//
//	x (N, C) ─ Norm1 ─ q, k, v projections ─ [q/k norm per head] ─ RoPE (Llama) ─ causal softmax
//	  attention (sliding window per layer) ─ O ─ [PostAttn] ─ + x = res2
//	res2 (N, C) ─ Norm2 ─ Gate/Up → silu(g)⊙u (Llama) | gelu_tanh(g)⊙u (Gemma 3) | c_fc → gelu
//	  (GPT-2) ─ Down ─ [PostFF] ─ + res2 = out
//
// One function, blockForward, runs a block for training, evaluation and KV-cached decoding (the
// caches are an argument: attention then runs over each sequence's cached keys and values, to
// which its new rows' are appended), including the Batcher's steps over many sequences (their
// adapters given as data, products row-wise); blockBackward inverts it. What the families change — fused or separate
// q/k/v, gated or plain MLP and its activation, rotary or learned positions, per-head q/k norms
// (Qwen3, Gemma 3), the bracketed post norms, the embedding scale (Gemma: √C), final logit and
// attention score softcapping (Gemma) — is a layout chosen once at load (layout.go), read as data by the passes,
// never a family test inside them. Per-layer settings (attention scale, sliding window, which
// rotary table: Gemma 3's sliding layers have their own base) live in Block; a norm's (1 + w)
// weight (Gemma) is Norm.Offset. Config resolves each architecture's keys into these derived
// fields (QKNorm, NormOffset, PostNorms, EmbedScale, AttnScale, LogitCap, AttnCap, Windows,
// RopeLocal).
//
// Every linear layer is a Linear (W stored (out, in); GPT-2 Conv1D weights are transposed on
// load). When a Delta (the adapter) is attached, the layer asks it for its extra low-rank term as
// data — a Term: two factors and a scale (ForwardTerm; BackwardTerms for the input gradient) —
// and computes that term in its own GEMM (gemm.SgemmSum: y = x·Wᵀ + s·z·Bᵀ and dx = dy·W + dh·A
// in one pass each). The Delta never sees the GEMM, the model never sees ranks or mixers.
// Adapters attach by Linear.Path, the Hugging Face module path PEFT uses
// ("model.layers.0.self_attn.q_proj", "transformer.h.0.attn.c_attn").
//
// Frozen base matrices (linear weights, token embedding, LM head) are held in bfloat16 or IEEE
// half when the checkpoint is bf16 or f16 (LoadOptions: --base-dtype auto, the default; bf16 and
// f16 round any checkpoint to nearest even; f32 widens everything as before), as one
// gemm.Weights operand (Linear.Frozen, Param.Frozen) that the GEMM widens exactly while it packs
// it (gemm.SgemmW, dtype.go): results are bit-identical to float32 storage of the same values.
// --base-dtype q8 holds the linear weights in GGUF's Q8_0 blocks (q8.go: 32 int8 and one f16
// scale each), which the GEMM dequantises while packing as well: no float32 copy of a layer
// exists. Norms, biases and positions stay float32; full fine-tuning and merging widen.
//
// Recomputation (SetRecompute, recompute.go) keeps one block's activations instead of L: the
// backward pass reruns each block's forward from its saved input before the block's backward,
// stopping short of the O and Down products (each block's mid residual is kept, so their outputs
// are not needed).
//
// bf16 compute (SetCompute(ComputeBF16), compute.go) runs the products with the frozen base —
// every linear layer's x·Wᵀ and dy·W, the LM head's h·Wᵀ and dlogits·W — and attention's
// products — Q·Kᵀ, P·V and, backward, dO·Vᵀ, Pᵀ·dO, dS·K, dSᵀ·Q (attention16.go) — on bf16-rounded
// inputs with float32 accumulation (gemm.SgemmBF16Compute; a linear layer's fused with the
// adapter's term through gemm.Term.BF16, the term itself float32), the ops PyTorch's CPU
// autocast runs in bf16 (linear, matmul/bmm, scaled_dot_product_attention). Adapters, norms,
// scores, softmax and its backward, the loss and full fine-tuning's weight gradients stay
// float32; the default (ComputeF32) keeps exact parity. Forward, ForwardCached and the Batcher
// all follow the setting, and decoding gives each row the forward's attention bit for bit.
//
// Entry points: Load (a model folder), LoadWith or FromSource; Forward (logits and hidden states) and Loss;
// ForwardBackward / ForwardBackwardSum (training step: loss and accumulated gradients, the LM head
// evaluated in row chunks); EnableFullGrads, Params and ZeroGrads (full fine-tuning);
// NewKVCache and ForwardCached (incremental decoding); NewBatcher and Batcher.Step (one decoding
// step over many sequences, each with its own cache and adapter held as Deltas: continuous
// batching, batch-invariant); Summarize (config and header only).
//
// # Invariants
//
//   - Loading is strict: a missing, unexpected or mis-shaped tensor is an error naming the tensor
//     and the file. Only non-parameter buffers (rotary inv_freq, GPT-2 attention masks) are skipped.
//   - Base weights are never modified by the forward or backward pass. A matrix is held as
//     float32 (W) or in Frozen — bfloat16, f16 or, a linear weight, Q8_0 — exactly one of them;
//     Widen converts to W, and anything that writes weights (EnableFullGrads, an adapter's Merge)
//     widens first.
//   - Holding a matrix in bf16 or f16 changes no result bit: the conversion to float32 is exact and
//     the GEMM sums in the same order; a Q8_0 weight computes with exactly its dequantised values
//     f16(d)·q (tests: dtype_test.go, q8_test.go, kernels/gemm weights_test.go).
//   - Recomputation changes no result bit: the rerun is the same arithmetic on the same values,
//     and a Replayer Delta repeats its dropout masks (recompute_test.go).
//   - A nil gradient slice means frozen: base weights get input gradients (dX = dY·W) but weight
//     gradients only after EnableFullGrads. All gradients accumulate (+=); ZeroGrads clears them.
//   - Activation buffers are allocated once per (batch, seq) shape (grown, never shrunk), so a
//     training step allocates no tensors after the first; Forward and ForwardBackward are therefore
//     not safe for concurrent use. ForwardCached touches only its KVCache, so calls with distinct
//     caches may run concurrently when the attached Deltas' Forward is safe for that.
//   - Every matrix product goes through kernels/gemm (Sgemm, SgemmSum, SgemmW, SgemmBF16Compute;
//     SgemmRowwiseW for the Batcher's shared decode rows under float32 compute).
//   - Batches are right-padded: position of row t is t and a causal mask suffices; the loss is the
//     mean cross-entropy of logits[:, t] against labels[:, t+1] over labels ≠ IgnoreIndex.
package model
