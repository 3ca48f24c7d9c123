//go:build amd64 && !purego

package kernels

// dotF64AVX2, softmaxGradAVX2 and scaleAVX2 are the loops of SoftmaxBackward and
// SoftmaxForward in softmax_amd64.s: n a positive multiple of 8.
//
//go:noescape
func dotF64AVX2(x, y *float32, n int) float64

//go:noescape
func softmaxGradAVX2(dx, y, dy *float32, n int, d float32)

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

// dotF64 returns Σ x[i]·y[i] in float64 over the longest multiple-of-8 prefix of x (len(y) ≥
// len(x)) and that prefix's length (0, 0 without AVX2).
func dotF64(x, y []float32) (float64, int) {
	n8 := vecLen(len(x))
	if n8 == 0 {
		return 0, 0
	}
	_ = y[n8-1]
	return dotF64AVX2(&x[0], &y[0], n8), n8
}

// softmaxGrad sets dx[i] = y[i]·(dy[i] − d) on the longest multiple-of-8 prefix of y and returns
// its length (0 without AVX2).
func softmaxGrad(dx, y, dy []float32, d float32) int {
	n8 := vecLen(len(y))
	if n8 == 0 {
		return 0
	}
	_, _ = dx[n8-1], dy[n8-1]
	softmaxGradAVX2(&dx[0], &y[0], &dy[0], n8, d)
	return n8
}

// scale multiplies the longest multiple-of-8 prefix of x by s and returns its length.
func scale(x []float32, s float32) int {
	n8 := vecLen(len(x))
	if n8 == 0 {
		return 0
	}
	scaleAVX2(&x[0], n8, s)
	return n8
}
