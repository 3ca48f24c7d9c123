package model

import (
	"fmt"
	"math"

	"github.com/moslora/moslora/kernels"
	"github.com/moslora/moslora/kernels/gemm"
)

// ForwardBackward runs the model over ids (B, T) and back-propagates the mean cross-entropy of
// logits[:, t] against labels[:, t+1] over labels ≠ IgnoreIndex. Gradients are ACCUMULATED (+=):
// into every Linear's Delta (Delta.BackwardTerms), and into the base gradients allocated by
// EnableFullGrads. Activation gradients flow through the frozen base weights either way.
//
// The LM head is evaluated in chunks of rows (only rows that have a target), so the (B·T, V)
// logits are never materialised. A batch with no target returns loss 0 and adds no gradient.
// A non-finite loss is returned as an error (the gradients of that call are then meaningless).
func (m *Model) ForwardBackward(ids, labels []int, B, T int) (float64, error) {
	sum, n, err := m.ForwardBackwardSum(ids, labels, B, T, 0)
	if n == 0 || err != nil {
		return 0, err
	}
	return sum / float64(n), nil
}

// ForwardBackwardSum is ForwardBackward for gradient accumulation normalised by the caller: it
// returns the SUM of the token losses and the number of target tokens, and accumulates the
// gradient of scale·sum (scale 0 means 1/count: the mean, as ForwardBackward). A trainer that
// averages over all tokens of an accumulated batch passes scale = 1/total_tokens.
func (m *Model) ForwardBackwardSum(ids, labels []int, B, T int, scale float64) (sum float64, count int, err error) {
	a, err := m.prepareTargets(ids, labels, B, T, true)
	if err != nil || len(a.rows) == 0 {
		return 0, 0, err
	}
	m.forward(a, ids)
	count = len(a.rows)
	if scale == 0 {
		scale = 1 / float64(count)
	}
	sum = m.lmHeadLoss(a, float32(scale), true)
	if math.IsNaN(sum) || math.IsInf(sum, 0) {
		return sum, count, fmt.Errorf("model: non-finite loss %v", sum/float64(count))
	}
	C := m.Config.HiddenSize

	// Final norm: lnf = Norm(res[L]).
	L := len(m.Blocks)
	clear(a.dres)
	m.Final.backward(a.dres, a.dlnf, a.res[L], a.meanf, a.rstdf, a.N, C)
	for l := L - 1; l >= 0; l-- {
		if m.recompute && l < L-1 { // the last block's activations are still those of the forward
			m.replayBlock(l, a)
		}
		m.blockBackward(l, a)
	}
	// Embeddings: res[0][n] = s·E[id_n] (+ P[n mod T]), s = the layout's embedding scale.
	if m.Embed.DW != nil {
		s := m.lay.embedScale
		for n, id := range a.ids {
			dst, g := m.Embed.DW[id*C:(id+1)*C], a.dres[n*C:(n+1)*C]
			for j := range dst {
				dst[j] += s * g[j]
			}
		}
	}
	if m.Pos != nil && m.Pos.DW != nil {
		for n := 0; n < a.N; n++ {
			dst, g := m.Pos.DW[(n%T)*C:(n%T+1)*C], a.dres[n*C:(n+1)*C]
			for j := range dst {
				dst[j] += g[j]
			}
		}
	}
	return sum, count, nil
}

// LossSum runs the model over ids (B, T) without gradients and returns the sum of the token
// cross-entropies of logits[:, t] against labels[:, t+1] over labels ≠ IgnoreIndex, and their
// number. Only the rows with a target go through the LM head (in chunks), so evaluation never
// materialises the (B·T, V) logits.
func (m *Model) LossSum(ids, labels []int, B, T int) (sum float64, count int, err error) {
	a, err := m.prepareTargets(ids, labels, B, T, false)
	if err != nil || len(a.rows) == 0 {
		return 0, 0, err
	}
	m.forward(a, ids)
	return m.lmHeadLoss(a, 0, false), len(a.rows), nil
}

// prepareTargets validates the batch, sizes the buffers and lists the rows that have a target
// (a.rows, a.targets).
func (m *Model) prepareTargets(ids, labels []int, B, T int, training bool) (*acts, error) {
	if err := m.checkIDs(ids, B, T); err != nil {
		return nil, err
	}
	V := m.Config.VocabSize
	if len(labels) != B*T {
		return nil, fmt.Errorf("model: %d labels do not match (batch %d, seq %d)", len(labels), B, T)
	}
	for i, y := range labels {
		if y != IgnoreIndex && (y < 0 || y >= V) {
			return nil, fmt.Errorf("model: label %d at (%d, %d) is outside [0, %d) and not %d", y, i/T, i%T, V, IgnoreIndex)
		}
	}
	a := m.prepare(B, T, training)
	a.rows, a.targets = a.rows[:0], a.targets[:0]
	for b := 0; b < B; b++ {
		for t := 0; t+1 < T; t++ {
			if y := labels[b*T+t+1]; y != IgnoreIndex {
				a.rows = append(a.rows, b*T+t)
				a.targets = append(a.targets, y)
			}
		}
	}
	return a, nil
}

// lmHeadLoss evaluates the LM head and cross-entropy on the target rows of a.lnf, R rows at a
// time, and returns the sum of the losses. With grad it also back-propagates scale·sum:
//
//	logits = h·Wᵀ;  dlogits = scale·(softmax − onehot);  dh = dlogits·W;  dW += dlogitsᵀ·h
//
// Layouts with final logit softcapping (y = cap·tanh(z/cap), z = h·Wᵀ) take the loss of y and
// dz = dy·(1 − tanh²(z/cap)) (softcapBackward).
//
// writing dh into a.dlnf (zero on rows without a target) and dW into LMHead.DW if allocated.
func (m *Model) lmHeadLoss(a *acts, scale float32, grad bool) (sum float64) {
	V, C := m.Config.VocabSize, m.Config.HiddenSize
	R, count := lmChunkRows(V), len(a.rows)
	if grad {
		clear(a.dlnf)
	}
	for c0 := 0; c0 < count; c0 += R {
		r := min(R, count-c0)
		for i := 0; i < r; i++ {
			n := a.rows[c0+i]
			copy(a.hc[i*C:(i+1)*C], a.lnf[n*C:(n+1)*C])
		}
		m.headProduct(true, r, V, C, 1, a.hc, C, 0, a.lc, V)
		softcapRows(a.lc[:r*V], a.lcap, m.lay.logitCap, r)
		parallelRange(r, 4, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := a.lc[i*V : (i+1)*V]
				var d []float32
				if grad {
					d = row
				}
				a.rowLoss[i] = kernels.CrossEntropy(d, row, a.targets[c0+i], scale)
				if grad && a.lcap != nil {
					softcapBackward(row, a.lcap[i*V:(i+1)*V])
				}
			}
		})
		for _, l := range a.rowLoss[:r] {
			sum += l
		}
		if !grad {
			continue
		}
		m.headProduct(false, r, C, V, 1, a.lc, V, 0, a.dhc, C)
		for i := 0; i < r; i++ {
			n := a.rows[c0+i]
			copy(a.dlnf[n*C:(n+1)*C], a.dhc[i*C:(i+1)*C])
		}
		if m.LMHead.DW != nil {
			gemm.Sgemm(true, false, V, C, r, 1, a.lc, V, a.hc, C, 1, m.LMHead.DW, C)
		}
	}
	return sum
}

// blockBackward inverts blockForward for block l. On entry a.dres holds d res[l+1]; on return it
// holds d res[l] (the residual adds pass the gradient through unchanged, and each branch adds its
// input gradient). Block 0 skips its input gradient when nothing upstream is trainable.
//
// Post-norm layouts first take the branch gradient back through Post₂ (Post₁) into a.dpost, the
// gradient of the Down (O) output; q/k-norm layouts take dq, dk (after un-rotating them) back
// through QNorm, KNorm into dqRaw, dkRaw, the gradients of the projections. Every norm's backward
// is the RMSNorm's (kernels.RMSNormBackward, RMSNormOffsetBackward for (1 + w)):
//
//	dx += r·(g − x̂·mean(g ⊙ x̂)),  g = w ⊙ dy (or (1 + w) ⊙ dy),  x̂ = x·r;   dw += Σ_rows dy ⊙ x̂
func (m *Model) blockBackward(l int, a *acts) {
	c, b, la := m.Config, &m.Blocks[l], a.layer(l)
	N, C, I, D := a.N, c.HiddenSize, c.IntermediateSize, c.HeadDim
	x := a.res[l]

	// MLP: out = res2 + Post₂(Down(h));  h = act(a, u) (gated) or act(a).
	dDown := a.dres
	if m.lay.postNorms {
		clear(a.dpost)
		b.PostFF.backward(a.dpost, a.dres, la.dn, nil, la.rstdD, N, C)
		dDown = a.dpost
	}
	b.Down.backward(a.dh, dDown, la.h, N, false)
	act, gated := m.lay.act.backward, m.lay.gatedMLP
	parallelRange(N*I, actGrain, func(lo, hi int) {
		clear(a.da[lo:hi]) // the kernel adds into da (and du)
		du := part(a.du, lo, hi)
		if gated {
			clear(du)
		}
		act(a.da[lo:hi], du, a.dh[lo:hi], la.a[lo:hi], part(la.u, lo, hi), hi-lo)
	})
	if gated {
		b.Gate.backward(a.dln, a.da, la.ln2, N, false)
		b.Up.backward(a.dln, a.du, la.ln2, N, true)
	} else {
		b.Up.backward(a.dln, a.da, la.ln2, N, false)
	}
	b.Norm2.backward(a.dres, a.dln, la.res2, la.mean2, la.rstd2, N, C) // dres = d res2

	// Attention: res2 = x + Post₁(O(attn(q, k, v))),  q, k, v = projections of ln1 = Norm1(x).
	dO := a.dres
	if m.lay.postNorms {
		clear(a.dpost)
		b.PostAttn.backward(a.dpost, a.dres, la.o, nil, la.rstdO, N, C)
		dO = a.dpost
	}
	b.O.backward(a.dattY, dO, la.attY, N, false)
	d, v := m.views(la, a), m.views(la, nil)
	if m.lay.fusedQKV {
		clear(a.dqkv[:N*3*C])
	} else {
		clear(a.dk[:N*c.KVDim()])
		clear(a.dv[:N*c.KVDim()])
	}
	shape := m.attnShape(l, a.B, a.T)
	shape.tscratch = a.attR
	attentionBackward(d, a.dattY, la.att, v, shape, a.attP, a.dP)
	needIn := l > 0 || m.grads
	dln := a.dln
	if !needIn {
		dln = nil
	}
	if m.lay.rope { // q, k were rotated after projection: un-rotate their gradients
		m.rope(d, &pass{B: a.B, T: a.T, N: N, cos: a.cos, sin: a.sin}, b.rope, true)
	}
	dq, dk := a.dq, a.dk
	if m.lay.qkNorm { // q, k were normed per head after projection
		clear(a.dqRaw)
		clear(a.dkRaw)
		b.QNorm.backward(a.dqRaw, a.dq, la.qRaw, nil, la.qrstd, N*c.NumAttentionHeads, D)
		b.KNorm.backward(a.dkRaw, a.dk, la.kRaw, nil, la.krstd, N*c.NumKeyValueHeads, D)
		dq, dk = a.dqRaw, a.dkRaw
	}
	if m.lay.fusedQKV {
		b.QKV.backward(dln, a.dqkv, la.ln1, N, false)
	} else {
		b.Q.backward(dln, dq, la.ln1, N, false)
		b.K.backward(dln, dk, la.ln1, N, true)
		b.V.backward(dln, a.dv, la.ln1, N, true)
	}
	if needIn {
		b.Norm1.backward(a.dres, a.dln, x, la.mean1, la.rstd1, N, C) // dres = d x
	}
}
