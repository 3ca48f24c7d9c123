package gemm

import "math"

// Sgemm computes C = alpha·op(A)·op(B) + beta·C. See the package documentation for layouts.
//
//	a: (m, k), or (k, m) if transA;  b: (k, n), or (n, k) if transB;  c: (m, n) with row stride ldc
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmW is Sgemm with B held in any storage (Weights: float32, bfloat16, IEEE half or Q8_0 —
// frozen base weights kept in their checkpoint's 16 bits, or quantised). B is widened exactly (or
// dequantised, f16(scale)·q) while it is packed: the result has the bits of Sgemm on B's float32
// values.
//
//	a: (m, k), or (k, m) if transA;  b: (k, n), or (n, k) if transB;  c: (m, n) with row stride ldc
func SgemmW(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, b.Len(), ldb, len(c), ldc)
	blocked(activeConfig(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Term is one product of SgemmSum: Alpha · op(A) · op(B), with op(A) (m, K) and op(B) (K, n)
// laid out as in Sgemm (A is (K, m) when TransA, B is (n, K) when TransB).
type Term struct {
	TransA, TransB bool
	K              int
	Alpha          float32
	A              []float32
	Lda            int
	B              Weights // any storage in the first term of SgemmSum; float32 in the second
	Ldb            int
	// BF16: the product runs on bfloat16-rounded inputs with float32 accumulation, as
	// SgemmBF16Compute (first term of SgemmSum only; the second stays float32).
	BF16 bool
}

// SgemmSum computes C (m, n) = t1.Alpha·op(t1.A)·op(t1.B) + t2.Alpha·op(t2.A)·op(t2.B) + beta·C
// in one pass over C (t1's B may be held in any storage, and t1 may run on bf16 inputs, t1.BF16;
// t2 is a float32 product): the two products run as one over the concatenated k (t1.K + t2.K),
// with t2's B scaled by t2.Alpha/t1.Alpha while it is packed. A frozen layer plus its low-rank
// update (x·Wᵀ + s·z·Bᵀ, or dy·W + dh·A) then costs no second, memory-bound pass over C.
func SgemmSum(m, n int, t1, t2 Term, beta float32, c []float32, ldc int) {
	if t2.B.form() != formF32 || t2.BF16 {
		panic("gemm: SgemmSum's second term must be a float32 product")
	}
	checkArgs(t1.TransA, t1.TransB, m, n, t1.K, len(t1.A), t1.Lda, t1.B.Len(), t1.Ldb, len(c), ldc)
	checkArgs(t2.TransA, t2.TransB, m, n, t2.K, len(t2.A), t2.Lda, t2.B.Len(), t2.Ldb, len(c), ldc)
	blockedAll(activeConfig(), t1.BF16, t1.TransA, t1.TransB, m, n, t1.K, t1.Alpha, t1.A, t1.Lda, t1.B, t1.Ldb, beta, c, ldc, &t2)
}

// impl is the implementation Sgemm dispatches to: the blocked driver with the best micro-kernel.
var impl = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	blocked(activeConfig(), transA, transB, m, n, k, alpha, a, lda, Weights{F32: b}, ldb, beta, c, ldc)
}

// Naive is the reference implementation: a triple loop with float32 accumulation in k order.
func Naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	naive(transA, transB, m, n, k, alpha, a, lda, func(i int) float32 { return b[i] }, ldb, beta, c, ldc)
}

// NaiveW is the reference for SgemmW: Naive with each B element decoded from its storage.
func NaiveW(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, b.Len(), ldb, len(c), ldc)
	naive(transA, transB, m, n, k, alpha, a, lda, b.at, ldb, beta, c, ldc)
}

// BF16ToFloat32 widens a bfloat16 bit pattern to float32 (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b func(int) float32, ldb int, beta float32, c []float32, ldc int) {
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
					bv = b(j*ldb + p)
				} else {
					bv = b(p*ldb + j)
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
func checkArgs(transA, transB bool, m, n, k int, la, lda, lb, ldb, lc, ldc int) {
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
	if k > 0 && (la < (ar-1)*lda+ac || lb < (br-1)*ldb+bc) {
		panic("gemm: input slice too short")
	}
	if lc < (m-1)*ldc+n {
		panic("gemm: output slice too short")
	}
}
