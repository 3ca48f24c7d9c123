package model

import "github.com/moslora/moslora/kernels/gemm"

// forward computes y = x·Wᵀ + b (+ Delta(x)).     x (n, In), y (n, Out)
func (l *Linear) forward(y, x []float32, n int) {
	if fd, ok := l.Delta.(FusedDelta); ok {
		// y = x·Wᵀ + the update's last product, in one pass over y.
		base := gemm.Term{TransB: true, K: l.In, Alpha: 1, A: x, Lda: l.In, B: l.W, Ldb: l.In}
		gemm.SgemmSum(n, l.Out, base, fd.ForwardTerm(x, n), 0, y, l.Out)
		l.addBias(y, n)
		return
	}
	gemm.Sgemm(false, true, n, l.Out, l.In, 1, x, l.In, l.W, l.In, 0, y, l.Out)
	l.addBias(y, n)
	if l.Delta != nil {
		l.Delta.Forward(y, x, n)
	}
}

// addBias adds the bias (if any) to each of the n rows of y.
func (l *Linear) addBias(y []float32, n int) {
	if l.Bias == nil {
		return
	}
	for i := 0; i < n; i++ {
		row := y[i*l.Out : (i+1)*l.Out]
		for j, b := range l.Bias {
			row[j] += b
		}
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
	var beta float32
	if accumulate {
		beta = 1
	}
	fd, fused := l.Delta.(FusedDelta)
	if fused && dx != nil {
		// The update's parameter gradients first, then dx = dy·W + dh·A in one pass over dx.
		t, ok := fd.BackwardTerm(dy, x, n)
		base := gemm.Term{K: l.Out, Alpha: 1, A: dy, Lda: l.Out, B: l.W, Ldb: l.In}
		if ok {
			gemm.SgemmSum(n, l.In, base, t, beta, dx, l.In)
		} else {
			gemm.Sgemm(false, false, n, l.In, l.Out, 1, dy, l.Out, l.W, l.In, beta, dx, l.In)
		}
		fd.BackwardRest(dx, n)
		l.baseGrads(dy, x, n)
		return
	}
	if dx != nil {
		gemm.Sgemm(false, false, n, l.In, l.Out, 1, dy, l.Out, l.W, l.In, beta, dx, l.In)
	}
	l.baseGrads(dy, x, n)
	if l.Delta != nil {
		l.Delta.Backward(dx, dy, x, n)
	}
}

// baseGrads accumulates the base layer's own gradients, dW += dyᵀ·x and db += Σ_rows dy, where
// they are allocated (full fine-tuning).
func (l *Linear) baseGrads(dy, x []float32, n int) {
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
}
