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

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// swigluFwd runs SwiGLUForward's vector loop on the longest multiple-of-8 prefix and returns its
// length (0 without AVX2).
func swigluFwd(h, g, u []float32) int {
	n8 := len(h) &^ 7
	if !hasAVX2 || n8 == 0 {
		return 0
	}
	_, _ = g[n8-1], u[n8-1]
	swigluFwdAVX2(&h[0], &g[0], &u[0], n8)
	return n8
}

// swigluBwd is swigluFwd for SwiGLUBackward.
func swigluBwd(dg, du, dh, g, u []float32) int {
	n8 := len(dg) &^ 7
	if !hasAVX2 || n8 == 0 {
		return 0
	}
	_, _, _, _ = du[n8-1], dh[n8-1], g[n8-1], u[n8-1]
	swigluBwdAVX2(&dg[0], &du[0], &dh[0], &g[0], &u[0], n8)
	return n8
}

func expSlice(dst, src []float32) {
	n := len(src)
	if hasAVX2 && n >= 8 {
		n8 := n &^ 7
		expAVX2(&dst[0], &src[0], n8)
		src, dst = src[n8:], dst[n8:]
	}
	expSliceGo(dst, src)
}

// expShiftSum sets dst[i] = Exp(src[i] − shift) and returns their float64 sum (expShiftSumGo).
func expShiftSum(dst, src []float32, shift float32) float64 {
	n := len(src)
	dst = dst[:n]
	var s float64
	if hasAVX2 && n >= 8 {
		n8 := n &^ 7
		s = expShiftSumAVX2(&dst[0], &src[0], n8, shift)
		src, dst = src[n8:], dst[n8:]
	}
	return s + expShiftSumGo(dst, src, shift)
}

// maxOf returns the largest element of a non-empty x (maxOfGo).
func maxOf(x []float32) float32 {
	n := len(x)
	if hasAVX2 && n >= 8 {
		n8 := n &^ 7
		m := maxAVX2(&x[0], n8)
		return max(m, maxOfGo(x[n8:], m))
	}
	return maxOfGo(x[1:], x[0])
}
