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
	// Σ y·dy in float64, four partial sums so the adds do not wait on each other.
	var d0, d1, d2, d3 float64
	dy = dy[:len(y)]
	i := 0
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
	for i, v := range y {
		dx[i] = v * (dy[i] - d)
	}
}
