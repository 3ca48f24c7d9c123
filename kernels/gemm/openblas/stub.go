//go:build !(openblas && cgo)

package openblas

// Available reports whether this build links OpenBLAS (it does not: build with -tags openblas).
const Available = false

// Sgemm panics: this build does not link OpenBLAS.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("openblas: not linked; build with -tags openblas and cgo")
}

// SetThreads does nothing: this build does not link OpenBLAS.
func SetThreads(n int) {}
