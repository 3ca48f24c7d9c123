// Package gemm owns single-precision general matrix multiplication, the operation that dominates
// training time (forward products and input gradients through the frozen base).
//
// All matrices are row-major float32 slices with an explicit leading dimension (row stride), so
// sub-matrices can be passed without copying.
//
//	C (m, n) = alpha · op(A) · op(B) + beta · C
//	op(A) = A (m, k) with lda ≥ k        or Aᵀ where A is stored (k, m) with lda ≥ m  (transA)
//	op(B) = B (k, n) with ldb ≥ n        or Bᵀ where B is stored (n, k) with ldb ≥ k  (transB)
//
// The three forms the model needs: NN (activations · Wᵀ stored as (in,out)), NT (x · Wᵀ with W
// stored (out, in): the forward of a linear layer), TN (dYᵀ · X: a weight gradient). TT works too.
// SgemmBF16B takes B as bfloat16 bit patterns ([]uint16), widened to float32 while it is packed,
// so frozen base weights can stay in bf16.
//
// # Implementation
//
// The fast path is BLIS-style (blocked.go): B is packed into NR-column panels (NR = 16) covering
// all of K for an NC-wide block of columns, A into MR-row panels (MR = 6) per MC×KC block, and an
// MR×NR register-tile micro-kernel accumulates a 6×16 tile of C over KC. The micro-kernel is Go
// assembly for amd64 AVX2+FMA (kernel_amd64.s, 12 ymm accumulators), chosen at run time with
// golang.org/x/sys/cpu, or portable Go (kernel.go) elsewhere, without AVX2, or with the purego
// build tag. Edge tiles are zero-padded in the packing and written back through a scalar,
// bounds-respecting loop. Skinny products (LoRA: N, M or K = r ≤ 64) skip the packing of the big
// operand: the micro-kernel reads A (or B) in place through strides, so packing does not dominate.
// Work is split across GOMAXPROCS goroutines (a persistent pool; blocks of rows, or of columns
// when there are few rows); small products run on the calling goroutine. Packing buffers are
// reused through a sync.Pool.
//
// # Invariants
//
//   - A and B are never modified; only C[i*ldc+j] for i < m, j < n is written.
//   - beta == 0 means C is overwritten (NaNs in C do not propagate), as in BLAS.
//   - Sgemm dispatches to the fastest implementation for the running CPU; Naive is the reference
//     every fast path is tested against. Results differ from Naive only by float32 rounding (the
//     sum over k is split in KC blocks and vector lanes).
//   - Bad dimensions, leading dimensions or short slices are programmer errors and panic with a
//     "gemm: " message.
package gemm
