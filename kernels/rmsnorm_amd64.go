//go:build amd64 && !purego

package kernels

// rmsScaleAVX2, rmsBwdDotAVX2 and rmsBwdRowAVX2 are the row loops of RMSNormForward and
// RMSNormBackward in rmsnorm_amd64.s: n a positive multiple of 8.
//
//go:noescape
func rmsScaleAVX2(out, x, w *float32, n int, r float32)

//go:noescape
func rmsBwdDotAVX2(gr, w, x *float32, n int, r float32) float64

//go:noescape
func rmsBwdRowAVX2(dx, dw, gr, w, x *float32, n int, r, m float32)

// rmsScale sets out[j] = w[j]·(x[j]·r) on the longest multiple-of-8 prefix of x and returns its
// length (0 without AVX2).
func rmsScale(out, x, w []float32, r float32) int {
	n8 := vecLen(len(x))
	if n8 == 0 {
		return 0
	}
	_, _ = out[n8-1], w[n8-1]
	rmsScaleAVX2(&out[0], &x[0], &w[0], n8, r)
	return n8
}

// rmsBwdDot returns Σ float64(g·w)·float64(x·r) over the longest multiple-of-8 prefix of x and
// its length (0, 0 without AVX2).
func rmsBwdDot(g, w, x []float32, r float32) (float64, int) {
	n8 := vecLen(len(x))
	if n8 == 0 {
		return 0, 0
	}
	_, _ = g[n8-1], w[n8-1]
	return rmsBwdDotAVX2(&g[0], &w[0], &x[0], n8, r), n8
}

// rmsBwdRow does RMSNormBackward's row update on the longest multiple-of-8 prefix of x (dw may be
// nil) and returns its length (0 without AVX2).
func rmsBwdRow(dx, dw, g, w, x []float32, r, m float32) int {
	n8 := vecLen(len(x))
	if n8 == 0 {
		return 0
	}
	_, _, _ = dx[n8-1], g[n8-1], w[n8-1]
	var pdw *float32
	if dw != nil {
		_ = dw[n8-1]
		pdw = &dw[0]
	}
	rmsBwdRowAVX2(&dx[0], pdw, &g[0], &w[0], &x[0], n8, r, m)
	return n8
}
