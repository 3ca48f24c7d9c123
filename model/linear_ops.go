package model

import "github.com/moslora/moslora/kernels/gemm"

// forward computes y = x·Wᵀ + b (+ Delta(x)).     x (n, In), y (n, Out)
func (l *Linear) forward(y, x []float32, n int) {
	gemm.Sgemm(false, true, n, l.Out, l.In, 1, x, l.In, l.W, l.In, 0, y, l.Out)
	if l.Bias != nil {
		for i := 0; i < n; i++ {
			row := y[i*l.Out : (i+1)*l.Out]
			for j, b := range l.Bias {
				row[j] += b
			}
		}
	}
	if l.Delta != nil {
		l.Delta.Forward(y, x, n)
	}
}

// backward inverts forward (y = x·Wᵀ + b + Delta(x)):
//
//	dx  = dy·W      (overwritten, or added when accumulate; skipped when dx is nil)
//	dW += dyᵀ·x     (only when DW is allocated: full fine-tuning)
//	db += Σ_rows dy (only when DBias is allocated)
//
// and Delta.Backward adds the update's input gradient to dx and accumulates its own gradients.
// dy (n, Out), x (n, In) — x is the same input the forward saw.
func (l *Linear) backward(dx, dy, x []float32, n int, accumulate bool) {
	if dx != nil {
		var beta float32
		if accumulate {
			beta = 1
		}
		gemm.Sgemm(false, false, n, l.In, l.Out, 1, dy, l.Out, l.W, l.In, beta, dx, l.In)
	}
	if l.DW != nil {
		gemm.Sgemm(true, false, l.Out, l.In, n, 1, dy, l.Out, x, l.In, 1, l.DW, l.In)
	}
	if l.DBias != nil {
		for i := 0; i < n; i++ {
			for j, g := range dy[i*l.Out : (i+1)*l.Out] {
				l.DBias[j] += g
			}
		}
	}
	if l.Delta != nil {
		l.Delta.Backward(dx, dy, x, n)
	}
}
