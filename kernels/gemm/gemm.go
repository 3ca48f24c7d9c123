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
// stored (out, in): the forward of a linear layer), TN (dYᵀ · X: a weight gradient).
//
// # Invariants
//
//   - A and B are never modified; only C[i*ldc+j] for i < m, j < n is written.
//   - beta == 0 means C is overwritten (NaNs in C do not propagate), as in BLAS.
//   - Sgemm dispatches to the fastest implementation for the running CPU; Naive is the reference
//     every fast path is tested against.
package gemm

// Sgemm computes C = alpha·op(A)·op(B) + beta·C. See the package documentation for layouts.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// impl is the implementation Sgemm dispatches to; fast paths replace it at init time.
var impl = Naive

// Naive is the reference implementation: a triple loop with float32 accumulation in k order.
func Naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// checkArgs panics (programmer error) on inconsistent dimensions or short slices.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < max(ac, 1) || ldb < max(bc, 1) || ldc < max(n, 1) {
		panic("gemm: bad leading dimension")
	}
	if k > 0 && (len(a) < (ar-1)*lda+ac || len(b) < (br-1)*ldb+bc) {
		panic("gemm: input slice too short")
	}
	if len(c) < (m-1)*ldc+n {
		panic("gemm: output slice too short")
	}
}
