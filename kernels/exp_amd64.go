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

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// vecLen is how many of n elements the AVX2 loops take: the longest multiple of 8, 0 without AVX2.
func vecLen(n int) int {
	if !hasAVX2 {
		return 0
	}
	return n &^ 7
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
