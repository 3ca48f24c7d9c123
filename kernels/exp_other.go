//go:build !amd64 || purego

package kernels

func expSlice(dst, src []float32) { expSliceGo(dst, src) }

// expShiftSum sets dst[i] = Exp(src[i] − shift) and returns their float64 sum (expShiftSumGo).
func expShiftSum(dst, src []float32, shift float32) float64 {
	return expShiftSumGo(dst[:len(src)], src, shift)
}

// maxOf returns the largest element of a non-empty x (maxOfGo).
func maxOf(x []float32) float32 { return maxOfGo(x[1:], x[0]) }

func swigluFwd(h, g, u []float32) int          { return 0 }
func swigluBwd(dg, du, dh, g, u []float32) int { return 0 }
