package model

import "github.com/moslora/moslora/kernels"

// pass is what one run of the blocks over some token rows needs besides the weights: B sequences
// of T consecutive positions (N = B·T rows; row n at position pos0 + n mod T), their rotary
// table, scratch buffers, and the KV cache when decoding.
type pass struct {
	B, T, N  int
	pos0     int         // position of each sequence's first row (0 unless decoding)
	cos, sin [][]float32 // per rotary setting: (T, D/2) table of positions pos0 … pos0+T−1 (rope layouts)
	scratch  []float32   // (N, C) projection output before a residual add
	attP     [][]float32 // workers × (attnBlock, T) attention probabilities (batch attention only)
	kc       *KVCache    // nil: causal attention within the batch; else over the cache (B = 1)
}

// embed writes the embeddings of ids into x (N, C): token embedding, plus the learned position
// embedding of the row's position where the model has one (GPT-2).
func (m *Model) embed(x []float32, ids []int, p *pass) {
	C, s := m.Config.HiddenSize, m.lay.embedScale
	for n, id := range ids {
		row := x[n*C : (n+1)*C]
		embedRow(row, m.Embed.W, m.Embed.W16, id, C)
		if s != 1 {
			for j := range row {
				row[j] *= s
			}
		}
		if m.Pos != nil {
			pos := m.Pos.W[(p.pos0+n%p.T)*C:]
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
// backward pass) and decoding (p.kc set: the new rows' keys and values are appended to the cache
// and attention runs over everything cached). la's norm statistics are written only where
// allocated; out may alias x when x is not needed afterwards (decoding).
func (m *Model) blockForward(l int, x, out []float32, la *layerActs, p *pass) {
	c, b := m.Config, &m.Blocks[l]
	N, C, I, D := p.N, c.HiddenSize, c.IntermediateSize, c.HeadDim
	b.Norm1.forward(la.ln1, la.mean1, la.rstd1, x, N, C)
	v := m.views(la, nil)
	if m.lay.fusedQKV {
		b.QKV.forward(la.qkv, la.ln1, N)
	} else if m.lay.qkNorm {
		b.Q.forward(la.qRaw, la.ln1, N)
		b.K.forward(la.kRaw, la.ln1, N)
		b.V.forward(la.v, la.ln1, N)
		b.QNorm.forward(la.q, nil, la.qrstd, la.qRaw, N*c.NumAttentionHeads, D)
		b.KNorm.forward(la.k, nil, la.krstd, la.kRaw, N*c.NumKeyValueHeads, D)
	} else {
		b.Q.forward(la.q, la.ln1, N)
		b.K.forward(la.k, la.ln1, N)
		b.V.forward(la.v, la.ln1, N)
	}
	if m.lay.rope {
		m.rope(v, p, b.rope, false)
	}
	if p.kc == nil {
		attentionForward(la.attY, la.att, v, m.attnShape(l, p.B, p.T), p.attP)
	} else {
		p.kc.store(l, v, N, c.KVDim())
		p.kc.s = m.attentionCached(la.attY, v.q, v.ldq, p.kc.k[l], p.kc.v[l], p.kc.Len, N, b.attnScale, b.window, p.kc.s)
	}
	if m.lay.postNorms {
		b.O.forward(la.o, la.attY, N)
		b.PostAttn.forward(p.scratch, nil, la.rstdO, la.o, N, C)
	} else {
		b.O.forward(p.scratch, la.attY, N)
	}
	addInto(la.res2, x, p.scratch)
	b.Norm2.forward(la.ln2, la.mean2, la.rstd2, la.res2, N, C)
	if m.lay.gatedMLP {
		b.Gate.forward(la.a, la.ln2, N)
		b.Up.forward(la.u, la.ln2, N)
	} else {
		b.Up.forward(la.a, la.ln2, N)
	}
	act := m.lay.act.forward
	parallelRange(N*I, actGrain, func(lo, hi int) { act(la.h[lo:hi], la.a[lo:hi], part(la.u, lo, hi), hi-lo) })
	if m.lay.postNorms {
		b.Down.forward(la.dn, la.h, N)
		b.PostFF.forward(p.scratch, nil, la.rstdD, la.dn, N, C)
	} else {
		b.Down.forward(p.scratch, la.h, N)
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

// attnShape returns the attention geometry of block l for B sequences of T rows.
func (m *Model) attnShape(l, B, T int) *attnShape {
	c := m.Config
	return &attnShape{B: B, T: T, H: c.NumAttentionHeads, KV: c.NumKeyValueHeads, D: c.HeadDim,
		scale: m.Blocks[l].attnScale, softcap: m.lay.attnCap, window: m.Blocks[l].window, nw: workers(), ldo: c.QDim()}
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
