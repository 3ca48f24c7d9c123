//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// expAVX2 is ExpSlice's loop in exp_amd64.s (AVX2 + FMA): n a positive multiple of 8.
//
//go:noescape
func expAVX2(dst, src *float32, n int)

// expShiftSumAVX2 is expShiftSum's loop in exp_amd64.s: n a positive multiple of 8.
//
//go:noescape
func expShiftSumAVX2(dst, src *float32, n int, shift float32) float64

// maxAVX2 is maxOf's loop in exp_amd64.s: n a positive multiple of 8.
//
//go:noescape
func maxAVX2(x *float32, n int) float32

// swigluFwdAVX2 and swigluBwdAVX2 are the loops of SwiGLUForward / SwiGLUBackward in
// exp_amd64.s: n a positive multiple of 8.
//
//go:noescape
func swigluFwdAVX2(h, x, u *float32, n int)

//go:noescape
func swigluBwdAVX2(dg, du, dh, x, u *float32, n int)

// dotF64AVX2, softmaxGradAVX2 and scaleAVX2 are the loops of SoftmaxBackward and
// SoftmaxForward in exp_amd64.s: n a positive multiple of 8.
//
//go:noescape
func dotF64AVX2(x, y *float32, n int) float64

//go:noescape
func softmaxGradAVX2(dx, y, dy *float32, n int, d float32)

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

// rmsScaleAVX2, rmsBwdDotAVX2 and rmsBwdRowAVX2 are the row loops of RMSNormForward and
// RMSNormBackward in exp_amd64.s: n a positive multiple of 8.
//
//go:noescape
func rmsScaleAVX2(out, x, w *float32, n int, r float32)

//go:noescape
func rmsBwdDotAVX2(gr, w, x *float32, n int, r float32) float64

//go:noescape
func rmsBwdRowAVX2(dx, dw, gr, w, x *float32, n int, r, m float32)

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// vecLen is how many of n elements the AVX2 loops take: the longest multiple of 8, 0 without AVX2.
func vecLen(n int) int {
	if !hasAVX2 {
		return 0
	}
	return n &^ 7
}

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

// swigluFwd runs SwiGLUForward's vector loop on the longest multiple-of-8 prefix and returns its
// length (0 without AVX2).
func swigluFwd(h, g, u []float32) int {
	n8 := vecLen(len(h))
	if n8 == 0 {
		return 0
	}
	_, _ = g[n8-1], u[n8-1]
	swigluFwdAVX2(&h[0], &g[0], &u[0], n8)
	return n8
}

// swigluBwd is swigluFwd for SwiGLUBackward.
func swigluBwd(dg, du, dh, g, u []float32) int {
	n8 := vecLen(len(dg))
	if n8 == 0 {
		return 0
	}
	_, _, _, _ = du[n8-1], dh[n8-1], g[n8-1], u[n8-1]
	swigluBwdAVX2(&dg[0], &du[0], &dh[0], &g[0], &u[0], n8)
	return n8
}

func expSlice(dst, src []float32) {
	if n8 := vecLen(len(src)); n8 > 0 {
		expAVX2(&dst[0], &src[0], n8)
		src, dst = src[n8:], dst[n8:]
	}
	expSliceGo(dst, src)
}

// expShiftSum sets dst[i] = Exp(src[i] − shift) and returns their float64 sum (expShiftSumGo).
func expShiftSum(dst, src []float32, shift float32) float64 {
	dst = dst[:len(src)]
	var s float64
	if n8 := vecLen(len(src)); n8 > 0 {
		s = expShiftSumAVX2(&dst[0], &src[0], n8, shift)
		src, dst = src[n8:], dst[n8:]
	}
	return s + expShiftSumGo(dst, src, shift)
}

// maxOf returns the largest element of a non-empty x (maxOfGo).
func maxOf(x []float32) float32 {
	if n8 := vecLen(len(x)); n8 > 0 {
		m := maxAVX2(&x[0], n8)
		return max(m, maxOfGo(x[n8:], m))
	}
	return maxOfGo(x[1:], x[0])
}
