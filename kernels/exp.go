package kernels

import (
	"math"
)

// Exp returns eˣ in float32, about 4× faster than math.Exp and within 2 ulp of it (tested against
// math.Exp, the naive reference): x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), eʳ by
// Cephes' degree-6 minimax polynomial, and 2ⁿ built in the exponent bits. Results below 2⁻¹²⁶
// (x < −87.33) flush to 0; x > 88.72 gives +Inf; NaN gives NaN.
func Exp(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		return 0
	}
	t := x * log2e
	if t < 0 {
		t -= 0.5
	} else {
		t += 0.5
	}
	n := float32(int32(t))
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// 2ⁿ for n in [−126, 128]; n = 128 only when x rounds up near the overflow bound.
	if n > 127 {
		return y * 2 * math.Float32frombits(uint32(int32(n)-1+127)<<23)
	}
	if n < -126 {
		return y * 0.5 * math.Float32frombits(uint32(int32(n)+1+127)<<23)
	}
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// ExpSlice sets dst[i] = eˢʳᶜ⁽ⁱ⁾ for every element of src (len(dst) ≥ len(src); dst may be src,
// not otherwise overlap it): Exp on 8 lanes at a time with AVX2+FMA where the CPU has them
// (exp_amd64.s, within 2 ulp of math.Exp like Exp and with the same special values), else Exp in
// a loop (expSliceGo, the reference).
func ExpSlice(dst, src []float32) {
	if len(dst) < len(src) {
		panic("kernels: exp dst too short")
	}
	expSlice(dst[:len(src)], src)
}

// expSliceGo is ExpSlice with the scalar Exp.
func expSliceGo(dst, src []float32) {
	for i, x := range src {
		dst[i] = Exp(x)
	}
}

// expShiftSumGo is the reference of expShiftSum (exp_amd64.go, exp_other.go): dst[i] =
// Exp(src[i] − shift) (dst may be src), returning Σ dst[i] summed in float64 — the exponentials
// of a softmax fused with their sum.
func expShiftSumGo(dst, src []float32, shift float32) float64 {
	var s float64
	for i, x := range src {
		e := Exp(x - shift)
		dst[i] = e
		s += float64(e)
	}
	return s
}

// maxOfGo returns the largest of m and the elements of x: the reference of maxOf (the largest
// element of a non-empty x; with NaNs in x its result is unspecified, and a softmax of such a row
// is NaN anyway, through the sum).
func maxOfGo(x []float32, m float32) float32 {
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}
