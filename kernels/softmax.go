package kernels

// SoftmaxForward replaces x (n) in place by softmax(x), with the max subtracted first, exponentials
// by Exp and their sum accumulated in float64.
func SoftmaxForward(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	var s float64
	for i, v := range x {
		e := Exp(v - mx)
		x[i] = e
		s += float64(e)
	}
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
