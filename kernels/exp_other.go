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

func dotF64(x, y []float32) (float64, int)           { return 0, 0 }
func softmaxGrad(dx, y, dy []float32, d float32) int { return 0 }
func scale(x []float32, s float32) int               { return 0 }

func rmsScale(out, x, w []float32, r float32) int           { return 0 }
func rmsBwdDot(g, w, x []float32, r float32) (float64, int) { return 0, 0 }
func rmsBwdRow(dx, dw, g, w, x []float32, r, m float32) int { return 0 }
