package kernels

// SoftmaxForward replaces x (n) in place by softmax(x), with the max subtracted first, exponentials
// (Exp on 8 lanes, fused with their sum: expShiftSum) summed in float64.
func SoftmaxForward(x []float32) {
	if len(x) == 0 {
		return
	}
	s := expShiftSum(x, x, maxOf(x))
	inv := float32(1 / s)
	for i := scale(x, inv); i < len(x); i++ { // AVX2 prefix (softmax_amd64.s), then the rest
		x[i] *= inv
	}
}

// SoftmaxBackward computes the gradient of the pre-softmax scores from the softmax output y (n)
// and its gradient dy (n), OVERWRITING dx (dx may alias dy):
//
//	dx_i = y_i·(dy_i − Σ_j y_j·dy_j)
func SoftmaxBackward(dx, y, dy []float32) {
	// Σ y·dy in float64: a vector prefix (AVX2, softmax_amd64.s), then four partial sums so the adds
	// do not wait on each other (the reference loop).
	dy = dy[:len(y)]
	d0, i := dotF64(y, dy)
	var d1, d2, d3 float64
	for ; i+4 <= len(y); i += 4 {
		d0 += float64(y[i]) * float64(dy[i])
		d1 += float64(y[i+1]) * float64(dy[i+1])
		d2 += float64(y[i+2]) * float64(dy[i+2])
		d3 += float64(y[i+3]) * float64(dy[i+3])
	}
	for ; i < len(y); i++ {
		d0 += float64(y[i]) * float64(dy[i])
	}
	d := float32((d0 + d1) + (d2 + d3))
	for i := softmaxGrad(dx, y, dy, d); i < len(y); i++ {
		dx[i] = y[i] * (dy[i] - d)
	}
}
