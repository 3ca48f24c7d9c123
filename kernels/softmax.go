package kernels

// SoftmaxForward replaces x (n) in place by softmax(x), with the max subtracted first, exponentials
// (Exp on 8 lanes, fused with their sum: expShiftSum) summed in float64.
func SoftmaxForward(x []float32) {
	if len(x) == 0 {
		return
	}
	s := expShiftSum(x, x, maxOf(x))
	inv := float32(1 / s)
	for i := range x {
		x[i] *= inv
	}
}

// SoftmaxBackward computes the gradient of the pre-softmax scores from the softmax output y (n)
// and its gradient dy (n), OVERWRITING dx (dx may alias dy):
//
//	dx_i = y_i·(dy_i − Σ_j y_j·dy_j)
func SoftmaxBackward(dx, y, dy []float32) {
	var dot float64
	for i, v := range y {
		dot += float64(v) * float64(dy[i])
	}
	d := float32(dot)
	for i, v := range y {
		dx[i] = v * (dy[i] - d)
	}
}
