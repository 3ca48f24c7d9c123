// Package bench owns the measurements of `moslora bench`: GFLOP/s of the GEMM shapes of a 135M
// Llama, and tokens/s, step time, peak RSS and model-FLOP utilisation (MFU) of training (LoRA,
// MoSLoRA, full fine-tuning) and forward steps of base-19m and of the 135M shape, optionally beside
// the PyTorch anchor (../shared/bench/torch_anchor.py) run with the same settings.
//
// # Cases
//
// "gemm/NT/2048x1536x576" (form, then M×N×K as package gemm names its BenchShapes), and
// "<model>/<method>" with model base-19m (a model folder) or 135m (random weights of the
// SmolLM-135M shape) and method lora, moslora, full or forward. Every training case is one step
// of batch 4 × 512 tokens (--batch, --seq): forward, backward and one AdamW update (torch
// defaults, lr 1e-4, no clipping, as the anchor); adapters have r = 16, alpha = 32 on q, k, v, o,
// gate, up and down.
// Forward cases compute the logits of the same batch with no adapter. Each training / forward
// case runs in a child process of the same executable, so its peak RSS (VmHWM on Linux, else
// getrusage's maxrss) is its own and includes loading the model.
//
// # Real sizes: --config and --preset
//
// With a config model (LoadConfigModel: a Hugging Face config.json, or a named preset embedded in
// presets/, the shape fields of the public config of the model it names, "_source" saying which)
// the cases are "<name>/lora", "/moslora", "/full" and "/forward" on random weights
// (model.NewRandomIn: the frozen base drawn directly in --base-dtype, never in float32 first), at
// --batch × --seq tokens. Before a case starts, the memory its weights need (the base in its
// dtype; full fine-tuning 16 bytes a parameter) is compared with the machine's: a case that cannot
// fit (full fine-tuning of a 7B model) is refused with what to change. Long cases may run one
// step (--steps 1 --warmup 0); the child reports the random initialisation and every 30 s of a
// step on standard error. With --recompute, "<case>/hfu" also counts the recomputed block
// forwards (RecomputeFlops), which MFU leaves out.
//
// # Output
//
// One Measurement (name, value, unit, optional ratio) per number: "gemm/<shape>" and
// "gemm/<shape>/per_cpu_s" (plus "/openblas" with -tags openblas); "peak/<source>/<shape>";
// per training / forward case "<case>/tokens_per_s", "step_s" (median), "step_s_min",
// "cpu_per_step", "peak_rss", "flops_per_token", "model_flops", "mfu", "cpu_mfu", and with the
// PyTorch anchor "<case>/torch/tokens_per_s", "step_s", "peak_rss", "mfu", each with its ratio.
//
// # FLOP convention (useful model FLOPs per token; a multiply-add is 2 FLOPs)
//
// Only matrix products count; norms, RoPE, softmax, SiLU, the loss and the optimizer do not.
// With P the weights of the linear layers of all blocks plus the LM head (a tied head counts once,
// as a product), r the rank, T the sequence length, d = heads × head_dim:
//
//	forward         2·P                                 every linear and the LM head
//	attention       L · 2·2·d·(T+1)/2                   QKᵀ and P·V over the visible keys only:
//	                                                    causal, so a query sees (T+1)/2 keys on average
//	input grads     2·P            (training)           dX = dY·W for every linear and the LM head
//	attention grad  2 × attention  (training)           dQ, dK from dS; dP, dV from dO
//	weight grads    2·P            (full only)          dW = dYᵀ·X; frozen weights get none
//	adapter         3 · L · Σ 2·r·(in+out) [+ 2·r²]     per adapted linear: forward x·Aᵀ, z·Bᵀ (and the
//	                (lora, moslora)                     dense mixer h·Mᵀ); backward twice that (dA, dx;
//	                                                    dB, dz; dM, dh)
//
// so full fine-tuning is the familiar 6·P + 3 × attention, a frozen-base adapter step about
// 4·P + 3 × attention + the adapter, and a forward step 2·P + attention. All input gradients are
// counted, including those of block 0 that only an embedding gradient would need.
//
// For base-19m (P = 8 blocks × 1.57M + 6.29M head = 18.87M, d = 384, L = 8) with LoRA r = 16 at
// T = 512: forward 37.7 + attention 3.2 + input grads 37.7 + attention grads 6.3 = 84.9 MFLOP,
// plus the adapters 3 × 8 × 2·16·6784 = 5.2 MFLOP: 90.2 MFLOP per token (MoSLoRA 90.2, full 122.7,
// forward 40.9). The "~88" is this count to within 3% (it matches counting the adapters'
// backward once: 88.4).
//
// # MFU
//
// MFU = tokens/s × FLOPs/token ÷ machine peak. The peak is measured in the same run: the best
// rate of our own gemm.Sgemm (under --compute bf16, of gemm.SgemmBF16Compute: a bf16 step's MFU is
// against the bf16 peak) over the large GEMM shapes or, when built with -tags openblas (and
// cgo), of OpenBLAS with all threads, whichever is higher. A GEMM rate is that of the
// fastest of several calls, so the peak is the machine's capability when no other process took its
// cores; MFU is conservative on a shared machine. For the same reason every GEMM shape and case
// also reports CPU seconds (getrusage, all threads), and each case cpu_mfu = model FLOPs per
// CPU-second ÷ the best GEMM GFLOP per CPU-second over the large shapes: the efficiency of the
// work done whatever share of the cores other processes took, but blind to cores left idle
// (serial sections count only as longer wall time).
//
// # Inference cost (--inference)
//
// RunInference (inference.go) times, for base-19m and the random 135M shape, the base model and
// adapters of lora, moslora, global, gated and gated-topk (r 16 on the seven projections; K 4,
// k 2), unmerged and — where the mixer has a fixed matrix — merged: prompt tokens/s (a batch of
// prompts through Forward, as eval runs it) and decode tokens/s (KV-cached greedy decoding, as
// generate runs it). Weights are float32 for every variant (a merge widens bf16 weights); B and the
// mixers are random (B ≠ 0: cost does not depend on trained values). Before timing, a guard checks
// that each unmerged adapter changes the logits and each merged one reproduces them. The variants
// alternate in rounds; times are medians, ratios the median of per-round ratios to the base.
//
// # Invariants
//
//   - Measurements are printed, never asserted: tests cover FLOP counting and case selection only.
//   - A ratio is always ours / theirs (PyTorch's or OpenBLAS's; LoRA's for the "<model>/moslora/lora/…"
//     entries), for every unit.
//   - Only the matrix products of a step count as its FLOPs, whatever the method.
package bench
