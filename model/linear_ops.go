package model

import "github.com/moslora/moslora/kernels/gemm"

// forward computes y = x·Wᵀ + b (+ the Delta's term).     x (n, In), y (n, Out)
//
// An unmasked term runs in the same GEMM as x·Wᵀ (gemm.SgemmSum: one pass over y).
func (l *Linear) forward(y, x []float32, n int) { l.forwardWith(y, x, n, l.Delta) }

// forwardWith is forward with update d (nil: none) in place of the attached one: how the Batcher
// runs one sequence's rows with that sequence's adapter, the layer itself untouched.
func (l *Linear) forwardWith(y, x []float32, n int, d Delta) {
	var one [1]Term
	ts := one[:0]
	if d != nil {
		ts = append(ts, d.ForwardTerm(x, n))
	}
	base := gemm.Term{TransB: true, K: l.In, Alpha: 1, A: x, Lda: l.In, B: l.weights(), Ldb: l.In, BF16: l.bf16}
	l.product(y, base, 0, ts, true, n, l.Out)
	l.addBias(y, n)
}

// product computes dst (n, cols) = base + beta·dst, then adds the terms in order: the first in the
// same GEMM when no term is masked, the others (all of them when one is masked) one by one. forward selects the
// terms' layout (V transposed in the forward pass, see Term).
func (l *Linear) product(dst []float32, base gemm.Term, beta float32, ts []Term, forward bool, n, cols int) {
	if len(ts) > 0 && !masked(ts) {
		gemm.SgemmSum(n, cols, base, gemmTerm(ts[0], forward, cols), beta, dst, cols)
		ts = ts[1:]
	} else {
		baseProduct(base, n, cols, beta, dst, cols)
	}
	for _, t := range ts {
		l.scratch = AddTerm(dst, t, forward, n, cols, l.scratch)
	}
}

// masked reports whether a term has a mask.
func masked(ts []Term) bool {
	for _, t := range ts {
		if t.Mask != nil {
			return true
		}
	}
	return false
}

// gemmTerm is t as a GEMM operand pair.
func gemmTerm(t Term, forward bool, cols int) gemm.Term {
	if forward {
		return gemm.Term{TransB: true, K: t.Rank, Alpha: t.Scale, A: t.U, Lda: t.Rank, B: gemm.Weights{F32: t.V}, Ldb: t.Rank}
	}
	return gemm.Term{K: t.Rank, Alpha: t.Scale, A: t.U, Lda: t.Rank, B: gemm.Weights{F32: t.V}, Ldb: cols}
}

// AddTerm adds t to dst (n, cols) as its own product — forward selects the layout (see Term) —
// and returns the scratch buffer (n, cols) a masked term needs, grown from scratch. It is the
// reference the fused path is tested against, and how a Delta is applied outside a layer.
func AddTerm(dst []float32, t Term, forward bool, n, cols int, scratch []float32) []float32 {
	g := gemmTerm(t, forward, cols)
	if t.Mask == nil {
		gemm.Sgemm(g.TransA, g.TransB, n, cols, g.K, g.Alpha, g.A, g.Lda, t.V, g.Ldb, 1, dst, cols)
		return scratch
	}
	scratch = grow(scratch, n*cols)
	gemm.Sgemm(g.TransA, g.TransB, n, cols, g.K, g.Alpha, g.A, g.Lda, t.V, g.Ldb, 0, scratch, cols)
	for i, d := range scratch {
		dst[i] += d * t.Mask[i]
	}
	return scratch
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

// backward inverts forward (y = x·Wᵀ + b + Delta's term):
//
//	dx  = dy·W + the Delta's input-gradient terms  (overwritten, or added when accumulate;
//	                                                skipped when dx is nil)
//	dW += dyᵀ·x     (only when DW is allocated: full fine-tuning)
//	db += Σ_rows dy (only when DBias is allocated)
//
// and the Delta accumulates its own gradients. dy (n, Out), x (n, In) — x is the same input the
// forward saw.
func (l *Linear) backward(dx, dy, x []float32, n int, accumulate bool) {
	var ts []Term
	if l.Delta != nil {
		ts = l.Delta.BackwardTerms(dy, x, n)
	}
	if dx != nil {
		var beta float32
		if accumulate {
			beta = 1
		}
		base := gemm.Term{K: l.Out, Alpha: 1, A: dy, Lda: l.Out, B: l.weights(), Ldb: l.In, BF16: l.bf16}
		l.product(dx, base, beta, ts, false, n, l.In)
	}
	l.baseGrads(dy, x, n)
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
