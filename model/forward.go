package model

import (
	"fmt"
	"math"

	"github.com/moslora/moslora/kernels"
)

// actGrain is the least number of activation elements worth a goroutine.
const actGrain = 1 << 14

// normGrain is the least number of rows of a norm or RoPE worth a goroutine.
const normGrain = 64

// IgnoreIndex marks a label excluded from the loss, as in PyTorch's cross-entropy.
const IgnoreIndex = -100

// Output is the result of an inference forward pass.
type Output struct {
	Logits []float32   // (B, T, V)
	Hidden [][]float32 // (L+1) × (B, T, C) when requested: see Forward
}

// Forward runs the model over ids (B, T), right-padded (positions 0..T-1, causal mask). With
// hidden it also returns the hidden states with transformers' conventions: Hidden[0] is the
// embedding output (GPT-2: token + position), Hidden[i] the output of block i for 1 ≤ i < L and
// Hidden[L] the output of the final norm.
func (m *Model) Forward(ids []int, B, T int, hidden bool) (*Output, error) {
	if err := m.checkIDs(ids, B, T); err != nil {
		return nil, err
	}
	a := m.prepare(B, T, false)
	m.forward(a, ids)
	c := m.Config
	out := &Output{Logits: make([]float32, B*T*c.VocabSize)}
	m.headProduct(true, a.N, c.VocabSize, c.HiddenSize, 1, a.lnf, c.HiddenSize, 0, out.Logits, c.VocabSize)
	softcapRows(out.Logits, nil, m.lay.logitCap, a.N)
	if hidden {
		L := c.NumHiddenLayers
		out.Hidden = make([][]float32, L+1)
		for i := 0; i < L; i++ {
			out.Hidden[i] = append([]float32(nil), a.res[i]...)
		}
		out.Hidden[L] = append([]float32(nil), a.lnf...)
	}
	return out, nil
}

// Loss is the mean cross-entropy of logits (B, T, V) at position t against labels[:, t+1], over
// the labels that are not IgnoreIndex (transformers' causal-LM loss). With no such label it
// returns NaN, as PyTorch does.
func Loss(logits []float32, labels []int, B, T, V int) (float64, error) {
	if len(logits) != B*T*V || len(labels) != B*T {
		return 0, fmt.Errorf("model: loss: logits has %d values and labels %d, expected %d and %d for (batch %d, seq %d, vocab %d)", len(logits), len(labels), B*T*V, B*T, B, T, V)
	}
	var sum float64
	n := 0
	for b := 0; b < B; b++ {
		for t := 0; t+1 < T; t++ {
			y := labels[b*T+t+1]
			if y == IgnoreIndex {
				continue
			}
			if y < 0 || y >= V {
				return 0, fmt.Errorf("model: loss: label %d at (%d, %d) is outside [0, %d) and not %d", y, b, t+1, V, IgnoreIndex)
			}
			r := (b*T + t) * V
			sum += kernels.CrossEntropy(nil, logits[r:r+V], y, 0)
			n++
		}
	}
	return sum / float64(n), nil
}

// checkIDs validates the batch shape and token ids.
func (m *Model) checkIDs(ids []int, B, T int) error {
	c := m.Config
	if B <= 0 || T <= 0 || len(ids) != B*T {
		return fmt.Errorf("model: batch of %d ids does not match (batch %d, seq %d)", len(ids), B, T)
	}
	if m.Pos != nil && T > c.MaxPositionEmbeddings {
		return fmt.Errorf("model: sequence length %d exceeds n_positions %d", T, c.MaxPositionEmbeddings)
	}
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("model: token id %d at (%d, %d) is outside the vocabulary [0, %d)", id, i/T, i%T, c.VocabSize)
		}
	}
	return nil
}

// forward fills the activations of a for ids, up to the final norm output a.lnf.
func (m *Model) forward(a *acts, ids []int) {
	copy(a.ids, ids)
	p := &pass{B: a.B, T: a.T, N: a.N, cos: a.cos, sin: a.sin, scratch: a.scratch, attP: a.attP}
	m.embed(a.res[0], ids, p)
	for l := range m.Blocks {
		m.blockForward(l, a.res[l], a.res[l+1], a.layer(l), p)
	}
	m.Final.forward(a.lnf, a.meanf, a.rstdf, a.res[len(m.Blocks)], a.N, m.Config.HiddenSize)
}

func (n *Norm) forward(out, mean, rstd, x []float32, rows, d int) {
	var b []float32
	if n.B != nil {
		b = n.B.W
	}
	parallelRange(rows, normGrain, func(lo, hi int) {
		o, xs := out[lo*d:hi*d], x[lo*d:hi*d]
		switch {
		case n.Layer:
			kernels.LayerNormForward(o, part(mean, lo, hi), part(rstd, lo, hi), xs, n.W.W, b, hi-lo, d, n.Eps)
		case n.Offset != 0:
			kernels.RMSNormOffsetForward(o, part(rstd, lo, hi), xs, n.W.W, n.Offset, hi-lo, d, n.Eps)
		default:
			kernels.RMSNormForward(o, part(rstd, lo, hi), xs, n.W.W, hi-lo, d, n.Eps)
		}
	})
}

// backward adds the input gradient into dx and accumulates the weight gradients if allocated.
// Rows are split across goroutines; weight gradients are summed per piece, then added in order.
func (n *Norm) backward(dx, dout, x, mean, rstd []float32, rows, d int) {
	dw, db := n.W.DW, []float32(nil)
	if n.B != nil {
		db = n.B.DW
	}
	pieces, step := split(rows, normGrain)
	var pw, pb []float32 // per-piece partial sums of dw, db
	if dw != nil && pieces > 1 {
		pw = make([]float32, pieces*d)
	}
	if db != nil && pieces > 1 {
		pb = make([]float32, pieces*d)
	}
	parallelFor(pieces, pieces, func(i, _ int) {
		lo, hi := i*step, min(rows, (i+1)*step)
		if lo >= hi {
			return
		}
		w, b := dw, db
		if pw != nil {
			w = pw[i*d : (i+1)*d]
		}
		if pb != nil {
			b = pb[i*d : (i+1)*d]
		}
		dxs, ds, xs := dx[lo*d:hi*d], dout[lo*d:hi*d], x[lo*d:hi*d]
		switch {
		case n.Layer:
			kernels.LayerNormBackward(dxs, w, b, ds, xs, n.W.W, part(mean, lo, hi), part(rstd, lo, hi), hi-lo, d)
		case n.Offset != 0:
			kernels.RMSNormOffsetBackward(dxs, w, ds, xs, n.W.W, n.Offset, part(rstd, lo, hi), hi-lo, d)
		default:
			kernels.RMSNormBackward(dxs, w, ds, xs, n.W.W, part(rstd, lo, hi), hi-lo, d)
		}
	})
	addPieces(dw, pw, d)
	addPieces(db, pb, d)
}

// part is s[lo:hi], or nil when s is nil (per-row statistics the caller does not keep).
func part(s []float32, lo, hi int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

// addPieces adds the d-long partial sums in p (piece after piece) into dst; nothing if p is nil.
func addPieces(dst, p []float32, d int) {
	for i := 0; i+d <= len(p); i += d {
		for j, v := range p[i : i+d] {
			dst[j] += v
		}
	}
}

// finite reports whether every value is finite.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
