package gemm

// Row-wise products: the bits of one row of C do not depend on the other rows.
//
// A server that batches several sequences into one product wants each sequence's result to be
// the same whether it ran alone or with others (batch invariance). The blocked path sums over k
// in KC blocks and the small-m path in dot-product lanes, so a row's bits depend on which path
// its product took — on m. SgemmRowwise always takes the small-m path's dot products, whose
// result for row i reads only row i of A and B, so it is a function of that row alone.

// RowwiseM is the number of rows up to which Sgemm (float32 B) computes every row of C exactly as
// SgemmRowwise does: a product of at most RowwiseM rows gives each row the bits it gets alone.
const RowwiseM = smallM

// SgemmRowwise computes C (m, n) = alpha · A · Bᵀ + beta · C with A (m, k) and B stored (n, k),
// row-major with leading dimensions lda, ldb, ldc, like Sgemm(false, true, …). Row i of C is a
// function of row i of A and C, B, alpha and beta only: bit for bit the same for every m and
// whatever the other rows hold, and the same as Sgemm gives for that row with m = 1.
//
// Each group of four rows of B is read once and used for all m rows of A while it stays in L1
// (the small-m path with no row limit); columns are split across goroutines for large products.
func SgemmRowwise(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmRowwiseW(m, n, k, alpha, a, lda, Weights{F32: b}, ldb, beta, c, ldc)
}

// SgemmRowwiseW is SgemmRowwise with B held in any storage (Weights: frozen base weights in bf16,
// f16 or Q8), decoded four rows at a time: bit for bit SgemmRowwise on B's float32 values.
func SgemmRowwiseW(m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(false, true, m, n, k, len(a), lda, b.Len(), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	small(activeConfig(), false, true, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
