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
// SgemmW takes B as a Weights operand — float32, bfloat16, IEEE half or GGUF's Q8_0 (int8 quants
// with one f16 scale per 32) — decoded to float32 while it is packed (weights.go), so frozen base
// weights can stay in 16 or 8 bits (as can SgemmSum's first term and SgemmRowwiseW's B). Its
// results are bit-identical to Sgemm's on B's float32 values: the same sums in the same order on
// every path.
//
// SgemmBF16Compute (and SgemmSum's first term with Term.BF16) is the other use of bf16: the product
// itself runs on bf16 inputs with float32 accumulation, as PyTorch's CPU autocast runs a linear
// layer — A rounded to nearest even while packed, B given as bf16 or its float32 values rounded — the arithmetic of
// AVX512-BF16's VDPBF16PS (bf16compute.go). Its results are not Sgemm's, by design.
//
// # Implementation
//
// The fast path is BLIS-style (blocked.go). For each block of NC columns, B is packed into
// NR-column panels (NR = 16) covering all of K; C is then cut into work items (a block of MC rows
// × a chunk of panels), and for each KC block of k an item packs its rows of A into MR-row panels
// (MR = 6) and runs the MR×NR register-tile micro-kernel over every (A panel, B panel) pair, so a
// B micro-panel (KC×NR) stays in L1 and the A block (MC×KC) in L2. Packing reads either layout (so
// NN, NT, TN and TT are all one code path) and decodes a stored B (an untransposed one a run of
// NR columns at a time straight into the panel, a transposed one 64 steps of each of the NR
// columns into a scratch, then the same 8×8 register transposes as float32; AVX2 widening of
// bf16, F16C's VCVTPH2PS for f16, VPMOVSXBD + VCVTDQ2PS + VMULPS for Q8, in widen_amd64.s, each
// with its portable loop as reference); edge panels are zero-padded and edge
// tiles go through a scratch tile and a bounded write-back. A long k whose packed B would not
// stay in cache (k·n floats over 4 MiB: the LM head's input gradient, K = vocabulary) is cut into
// slices run one after the other, each adding into C (kSlice).
//
// Micro-kernels (Kernels lists those the CPU supports; the last is the default, SetKernel picks
// another): "go", portable (kernel.go; the only one with the purego build tag or off amd64);
// "avx2", Go assembly for AVX2+FMA with 12 ymm accumulators and a variant for packed panels
// (kernel_amd64.s); "avx512", the same tile with one zmm per row and two k steps in flight
// (kernel_avx512_amd64.s). CPU features come from golang.org/x/sys/cpu. With AVX2, whole
// 6-row panels of an untransposed A are packed by an 8×8 register transpose (pack_amd64.s,
// packA6; about 5× the scalar loop, which stays as its reference and for the edges).
//
// bf16 compute packs both operands as pairs of bf16 values along k, one 32-bit word per pair, in
// the float32 panel layouts with half the steps; the micro-kernel (kernel_bf16_amd64.s: the same
// 6×16 tile, twelve zmm accumulators, VDPBF16PS with the A word broadcast; the Go assembler has no
// BF16 mnemonics, so the two instructions are written as their encodings) does 2·6·16·2 flops per
// pair of words. Rows of A are rounded with VCVTNE2PS2BF16; a transposed A (attention's Pᵀ, dSᵀ) is
// first turned into rows by 8×8 transposes (bf16round.go, which also holds RoundBF16s: a row rounded
// once by the caller and passed as bf16 bits). Without AVX512-BF16 (or with purego)
// kernelBF16Go, a step-for-step emulation of the instruction (odd element first, each sum rounded,
// subnormals flushed), runs instead: the same bits on every machine, at about 2 GFLOP/s. The small-m
// path is not used, so a row's result does not depend on how many rows come with it.
//
// Skinny products (LoRA: N, M or K = r ≤ 64) do not waste the tile or drown in packing: with
// N ≤ 64 the micro-kernel reads A in place through its strides, with M ≤ 64 it reads an
// untransposed float32 B in place, and a lone block of rows is packed once and shared rather than
// once per item; K ≤ 64 needs nothing special (packing is cheap next to writing C).
//
// SgemmSum adds a second product into the same C in the same pass (blockedSum): its k steps are
// packed after the first product's, so the micro-kernel sees one product over k1 + k2. A frozen
// layer and its low-rank update (x·Wᵀ + s·z·Bᵀ; dy·W + dh·A) thus cost one pass over C instead of
// two, the second a memory-bound one with k = r.
//
// Products with at most 4 rows of C (a decoding step: one token) take the small-m path
// (small.go; a stored B decoded a few rows or one strip at a time into scratch) instead: no
// packing, each element of B read once and used for every
// row, NT/TT as dot products of four rows of B at a time with op(A) (dot4), NN/TN as 32-column
// axpy strips (axpy32), columns split across goroutines when the product is large (the LM head).
// Each micro-kernel comes with its dot4/axpy32 ("go": portable loops; "avx2" and "avx512": the
// AVX2+FMA assembly in small_amd64.s). The path is memory-bound (about 30 GB/s on the LM head).
//
// Items are taken dynamically by GOMAXPROCS goroutines (the caller and a persistent pool), rows
// split first and columns too when there are few rows; products under 8 MFLOP, and products
// started while another one is using the pool (callers that are themselves parallel), run on the
// calling goroutine. Sgemm is safe for concurrent use. Packing buffers live in pooled call states, so a steady-state call allocates nothing.
//
// The subpackage openblas links OpenBLAS through cgo (build tag openblas) only to measure this
// package against it; BenchShapes are the products both are measured on.
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
//   - Sgemm and SgemmW are safe for concurrent use and allocate nothing in the steady state.
//   - A product with B held in bf16, f16 or Q8 has the bits of the same product with B's float32
//     values (weights_test.go), on every path, kernel and thread count.
//   - SgemmBF16Compute gives the same bits with the assembly and the portable bf16 micro-kernel,
//     with any number of threads and rows, and differs from NaiveBF16Compute (rounded inputs,
//     float64 sums) only by float32 accumulation.
package gemm
