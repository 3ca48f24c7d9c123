// Package kernels owns the float32 element-wise and row-wise operations of a decoder forward and
// backward pass: RMSNorm and LayerNorm, rotary position embeddings, the SiLU/SwiGLU and GELU
// activations, softmax, and cross-entropy over a row of logits. Matrix products live in
// kernels/gemm; optimizer updates in the AdamW files.
//
// Every op is a Forward/Backward pair with a fixed argument order (outputs, inputs, weights,
// dimensions). Gradients carry a d prefix; a nil weight-gradient slice means "frozen" and is
// skipped. Input gradients are ADDED into dx (dx += …) so that several consumers of one tensor
// (a residual stream, the q/k/v projections of one input) can accumulate without a scratch copy;
// weight gradients are accumulated too (gradient accumulation across micro-batches).
//
// Exponentials of whole rows (softmax, cross-entropy, SiLU) go through ExpSlice / expShiftSum:
// Exp's algorithm on 8 lanes in AVX2+FMA assembly (exp_amd64.s, about 12× the scalar Exp) where
// the CPU has it, the scalar Exp in a loop otherwise (the reference, also with -tags purego).
// The other vector loops sit in files named for what they hold — softmax_amd64.s, rmsnorm_amd64.s,
// swiglu_amd64.s (which shares Exp's constants and EXP8 macro through exp_amd64.h) — each beside
// the Go loop it is tested against.
//
// # Invariants
//
//   - Inputs are never modified unless the function says "in place".
//   - Reductions (means, variances, softmax sums) accumulate in float64, so results match a
//     float32 PyTorch reference to a few ulps independently of the row length.
//   - Each op is tested against a float64 naive reference (forward) and against finite differences
//     of that reference (backward) on random, odd-sized inputs.
//   - Programmer errors (short slices) panic with a "kernels:" prefix.
//   - The optimizer update and the gradient norm (adamw.go) split large tensors across
//     GOMAXPROCS goroutines (pieces.go) without changing a bit: updates are per element, and the
//     norm's sum of squares has a fixed order (per chunk, then chunks in order) whatever the
//     number of threads. Every other op here is single-threaded; callers parallelise over rows.
package kernels

func checkLen(name string, s []float32, n int) {
	if len(s) < n {
		panic("kernels: " + name + " too short")
	}
}
