package model

import "github.com/moslora/moslora/kernels"

// pass is what one run of the blocks over some token rows needs besides the weights: B sequences
// of T consecutive positions (N = B·T rows; row n at position pos0 + n mod T, or pos[n] where pos
// is set), their rotary table, scratch buffers, and the KV caches when decoding.
type pass struct {
	B, T, N  int
	pos0     int         // position of each sequence's first row (0 unless decoding)
	pos      []int       // (N) each row's position where rows are not B×T consecutive ones (Batcher); rotary row n is then pos[n]
	cos, sin [][]float32 // per rotary setting: (T, D/2) table of the rows' positions (rope layouts)
	scratch  []float32   // (N, C) projection output before a residual add
	attP     [][]float32 // workers × (attnBlock, T) attention probabilities (batch attention only)

	// seqs, when decoding, are the sequences whose rows the pass holds, each attending over its
	// own KV cache; nil: causal attention within the batch (training and evaluation).
	seqs []seqRows
	// held: each sequence's adapter is its seqs entry's Deltas (data beside the model), not the
	// updates attached to the layers. rowwise: every product gives each row the bits it gets
	// alone (gemm.SgemmRowwise; updates in calls of at most gemm.RowwiseM rows) — batch invariance.
	held, rowwise bool
	// replay: a recomputation with the block's mid residual res2 kept (replayBlock): the O and
	// Down products, whose outputs only feed res2 and the block's output, are skipped.
	replay bool
}

// seqRows is one sequence's rows [row, row+n) of a decoding pass, at positions kc.Len …: they
// attend over kc (their keys and values are appended to it) and, in a held pass, take the update
// of deltas (nil: the base model).
type seqRows struct {
	row, n int
	kc     *KVCache
	deltas Deltas
}

// runs calls fn with each sequence's rows [row, row+n) — the whole pass when it has no seqs —, so
// that elementwise kernels, whose vector tails depend on the length, see each sequence's rows as
// they would alone.
func (p *pass) runs(fn func(row, n int)) {
	if p.seqs == nil {
		fn(0, p.N)
		return
	}
	for _, s := range p.seqs {
		fn(s.row, s.n)
	}
}

// linear computes y = x·Wᵀ + b + update for the pass's rows: the layer's attached update, or in a
// held pass each sequence's own (heldLinear, batch.go).
func (p *pass) linear(l *Linear, y, x []float32) {
	if p.held {
		p.heldLinear(l, y, x)
		return
	}
	l.forward(y, x, p.N)
}

// embed writes the embeddings of ids into x (N, C): token embedding, plus the learned position
// embedding of the row's position where the model has one (GPT-2).
func (m *Model) embed(x []float32, ids []int, p *pass) {
	C, s := m.Config.HiddenSize, m.lay.embedScale
	for n, id := range ids {
		row := x[n*C : (n+1)*C]
		embedRow(row, m.Embed, id, C)
		if s != 1 {
			for j := range row {
				row[j] *= s
			}
		}
		if m.Pos != nil {
			at := p.pos0 + n%p.T
			if p.pos != nil {
				at = p.pos[n]
			}
			pos := m.Pos.W[at*C:]
			for j := range row {
				row[j] += pos[j]
			}
		}
	}
}

// blockForward runs block l on x (N, C) into out (N, C):
//
//	res2 = x + Post₁(O(attn(Norm1(x))));   out = res2 + Post₂(Down(act(Norm2(res2))))
//
// with act = silu(Gate·)⊙(Up·), gelu(Gate·)⊙(Up·) or gelu(Up·) as the layout says, the post
// norms Post₁, Post₂ (PostAttn, PostFF) only in post-norm layouts (else the identity), and, in
// q/k-norm layouts, q and k per-head normed (QNorm, KNorm) between projection and RoPE. The same
// function serves training and evaluation (attention within the batch, la kept per block for the
// backward pass) and decoding (p.seqs set: each sequence's new keys and values are appended to its
// cache and its attention runs over everything cached). Its products go through p.linear: the
// layers' attached updates, or per-sequence updates held as data with row-wise products for the
// Batcher. Elementwise kernels run over each sequence's rows apart (p.runs). la's norm statistics
// are written only where allocated; out may alias x when x is not needed afterwards (decoding).
// A replay pass (p.replay, recompute.go) stops short of res2 and out, which it finds kept.
func (m *Model) blockForward(l int, x, out []float32, la *layerActs, p *pass) {
	c, b := m.Config, &m.Blocks[l]
	N, C, I, D := p.N, c.HiddenSize, c.IntermediateSize, c.HeadDim
	b.Norm1.forward(la.ln1, la.mean1, la.rstd1, x, N, C)
	v := m.views(la, nil)
	if m.lay.fusedQKV {
		p.linear(b.QKV, la.qkv, la.ln1)
	} else if m.lay.qkNorm {
		p.linear(b.Q, la.qRaw, la.ln1)
		p.linear(b.K, la.kRaw, la.ln1)
		p.linear(b.V, la.v, la.ln1)
		b.QNorm.forward(la.q, nil, la.qrstd, la.qRaw, N*c.NumAttentionHeads, D)
		b.KNorm.forward(la.k, nil, la.krstd, la.kRaw, N*c.NumKeyValueHeads, D)
	} else {
		p.linear(b.Q, la.q, la.ln1)
		p.linear(b.K, la.k, la.ln1)
		p.linear(b.V, la.v, la.ln1)
	}
	if m.lay.rope {
		m.rope(v, p, b.rope, false)
	}
	if p.seqs == nil {
		attentionForward(la.attY, la.att, v, m.attnShape(l, p.B, p.T), p.attP)
	}
	for _, s := range p.seqs {
		sv := v.from(s.row)
		s.kc.store(l, sv, s.n, c.KVDim())
		m.attentionCached(la.attY[s.row*c.QDim():], sv.q, sv.ldq, s.kc, l, s.n, b.attnScale, b.window)
	}
	switch {
	case p.replay: // recomputation: res2 is kept, O's output is not needed (replayBlock)
		b.O.keepState(la.attY, N)
	case m.lay.postNorms:
		p.linear(b.O, la.o, la.attY)
		b.PostAttn.forward(p.scratch, nil, la.rstdO, la.o, N, C)
		addInto(la.res2, x, p.scratch)
	default:
		p.linear(b.O, p.scratch, la.attY)
		addInto(la.res2, x, p.scratch)
	}
	b.Norm2.forward(la.ln2, la.mean2, la.rstd2, la.res2, N, C)
	if m.lay.gatedMLP {
		p.linear(b.Gate, la.a, la.ln2)
		p.linear(b.Up, la.u, la.ln2)
	} else {
		p.linear(b.Up, la.a, la.ln2)
	}
	act := m.lay.act.forward
	p.runs(func(row, n int) {
		h, a, u := la.h[row*I:(row+n)*I], la.a[row*I:(row+n)*I], part(la.u, row*I, (row+n)*I)
		parallelRange(n*I, actGrain, func(lo, hi int) { act(h[lo:hi], a[lo:hi], part(u, lo, hi), hi-lo) })
	})
	if p.replay { // nor is Down's: the block's output res[l+1] is kept
		b.Down.keepState(la.h, N)
		return
	}
	if m.lay.postNorms {
		p.linear(b.Down, la.dn, la.h)
		b.PostFF.forward(p.scratch, nil, la.rstdD, la.dn, N, C)
	} else {
		p.linear(b.Down, p.scratch, la.h)
	}
	addInto(out, la.res2, p.scratch)
}

// views returns where q, k, v live in la — or, with d (the gradient buffers of a training pass),
// where their gradients live — with their row strides.
func (m *Model) views(la *layerActs, d *acts) qkv {
	c := m.Config
	if m.lay.fusedQKV {
		C, buf := c.HiddenSize, la.qkv
		if d != nil {
			buf = d.dqkv
		}
		return qkv{q: buf, k: buf[C:], v: buf[2*C:], ldq: 3 * C, ldk: 3 * C, ldv: 3 * C}
	}
	if d != nil {
		return qkv{q: d.dq, k: d.dk, v: d.dv, ldq: c.QDim(), ldk: c.KVDim(), ldv: c.KVDim()}
	}
	return qkv{q: la.q, k: la.k, v: la.v, ldq: c.QDim(), ldk: c.KVDim(), ldv: c.KVDim()}
}

// from returns the view of x from row r on.
func (x qkv) from(r int) qkv {
	return qkv{q: x.q[r*x.ldq:], k: x.k[r*x.ldk:], v: x.v[r*x.ldv:], ldq: x.ldq, ldk: x.ldk, ldv: x.ldv}
}

// attnShape returns the attention geometry of block l for B sequences of T rows.
func (m *Model) attnShape(l, B, T int) *attnShape {
	c := m.Config
	s := &attnShape{B: B, T: T, H: c.NumAttentionHeads, KV: c.NumKeyValueHeads, D: c.HeadDim,
		scale: m.Blocks[l].attnScale, softcap: m.lay.attnCap, window: m.Blocks[l].window, nw: workers(), ldo: c.QDim()}
	if m.compute == ComputeBF16 {
		s.bf16 = true
		if m.acts != nil {
			s.ops = &m.acts.att16
		}
	}
	return s
}

// rope rotates (inverse: un-rotates) the query and key rows of x in place, row n by row n mod T
// (its position) of rotary table k.
func (m *Model) rope(x qkv, p *pass, k int, inverse bool) {
	c := m.Config
	half := c.HeadDim / 2
	pc, ps := p.cos[k], p.sin[k]
	parallelRange(p.N, normGrain, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			t := n % p.T
			cos, sin := pc[t*half:(t+1)*half], ps[t*half:(t+1)*half]
			kernels.RoPE(x.q[n*x.ldq:], c.NumAttentionHeads, c.HeadDim, cos, sin, inverse)
			kernels.RoPE(x.k[n*x.ldk:], c.NumKeyValueHeads, c.HeadDim, cos, sin, inverse)
		}
	})
}

// addInto sets dst = x + y (all the same length), in parallel pieces. dst may alias x or y.
func addInto(dst, x, y []float32) {
	parallelRange(len(dst), actGrain, func(lo, hi int) {
		d, xs, ys := dst[lo:hi], x[lo:hi], y[lo:hi]
		for i := range d {
			d[i] = xs[i] + ys[i]
		}
	})
}
