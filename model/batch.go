package model

import (
	"fmt"

	"github.com/moslora/moslora/kernels"
	"github.com/moslora/moslora/kernels/gemm"
)

// Step is one sequence's part of a batched forward step (Batcher.Step): its new tokens, its own KV
// cache and its own adapter.
type Step struct {
	IDs    []int    // new tokens at positions Cache.Len…: a prompt (prefill) or one sampled token (decode)
	Cache  *KVCache // the sequence's cache; the step appends to it
	Deltas Deltas   // the sequence's adapter; nil: the base model
}

// Deltas is an adapter held as data beside the model rather than attached to its layers, so that
// sequences with different adapters can share one step: the update it adds to layer l, or nil.
// Its Deltas are called from one goroutine at a time. Steps with the same Deltas value (compared
// with ==, so use a pointer type) have their rows grouped for the update.
type Deltas interface {
	DeltaFor(l *Linear) Delta
}

// Batcher runs forward steps over many sequences at once (continuous batching): the decode rows
// of all sequences (one new token each) share every base product, each run of rows with the same
// adapter adding that adapter's update (the S-LoRA / Punica idea), while each prefill (a prompt of
// several tokens) runs as its own block of rows. Attention is per sequence, over its own cache.
//
// # Invariants
//
//   - Batch invariance: a sequence's logits have the same bits whatever other sequences share its
//     step. Decode rows use gemm.SgemmRowwise for the base and calls of at most gemm.RowwiseM rows
//     for the updates, elementwise kernels run per row; a prefill runs alone.
//   - The logits equal ForwardCached's bit for bit for the same tokens and adapter attached: a
//     decode row is computed as ForwardCached computes one token, a prefill as ForwardCached
//     computes its prompt (the LM head over the last gemm.RowwiseM+1 rows, whose last row has the
//     bits of the whole prompt's product).
//   - A Batcher owns its scratch buffers: it is not safe for concurrent use, and the base model's
//     weights and attached Deltas are never touched.
type Batcher struct {
	m *Model

	x, ln, res2, attY, scratch []float32 // (n, C) / (n, H·D)
	q, kn, vn, qkv             []float32 // (n, H·D), (n, KV·D), (n, KV·D), (n, 3C)
	a, u, h                    []float32 // (n, I)
	s                          []float32 // attention scores of one head of one sequence
	cos, sin                   []float32 // (D/2)
	head                       []float32 // (rows, V) LM head products
	logits                     []float32 // (len(steps), V)
}

// NewBatcher returns a Batcher for m.
func (m *Model) NewBatcher() *Batcher {
	D := m.Config.HeadDim
	return &Batcher{m: m, cos: make([]float32, D/2), sin: make([]float32, D/2)}
}

// segment is one sequence's rows [row, row+n) of a group, at positions kc.Len….
type segment struct {
	kc     *KVCache
	row, n int
	deltas Deltas
	step   int // index in the steps of the call
	ids    []int
}

// group is a block of rows that go through the layers together: the decode rows of every
// sequence (shared: base products shared, adapters by runs of equal Deltas) or one prefill.
type group struct {
	n      int
	segs   []segment
	shared bool
}

// Step runs one forward step: each step's tokens are appended to its cache and the logits of its
// last token are returned, (len(steps), V), valid until the next call. On an error (an id outside
// the vocabulary, a full cache, the position limit) no cache is changed.
func (b *Batcher) Step(steps []Step) ([]float32, error) {
	c := b.m.Config
	seen := map[*KVCache]bool{}
	for si, st := range steps {
		n := len(st.IDs)
		switch {
		case n == 0:
			return nil, fmt.Errorf("model: batch step %d has no tokens", si)
		case st.Cache == nil:
			return nil, fmt.Errorf("model: batch step %d has no KV cache", si)
		case seen[st.Cache]:
			return nil, fmt.Errorf("model: batch step %d shares its KV cache with another step", si)
		case st.Cache.Len+n > st.Cache.Cap:
			return nil, fmt.Errorf("model: batch step %d: KV cache holds %d tokens; %d more do not fit", si, st.Cache.Cap, n)
		case c.Family == FamilyGPT2 && st.Cache.Len+n > c.MaxPositionEmbeddings:
			return nil, fmt.Errorf("model: batch step %d: position %d exceeds n_positions %d", si, st.Cache.Len+n-1, c.MaxPositionEmbeddings)
		}
		seen[st.Cache] = true
		for i, id := range st.IDs {
			if id < 0 || id >= c.VocabSize {
				return nil, fmt.Errorf("model: batch step %d: token id %d at %d is outside the vocabulary [0, %d)", si, id, i, c.VocabSize)
			}
		}
	}
	V := c.VocabSize
	b.logits = grow(b.logits, len(steps)*V)

	// Decode rows, ordered by adapter so that each adapter's rows are contiguous.
	dec := group{shared: true}
	order := map[Deltas]int{}
	var byDeltas [][]int
	for si, st := range steps {
		if len(st.IDs) != 1 {
			continue
		}
		k, ok := order[st.Deltas]
		if !ok {
			k = len(byDeltas)
			order[st.Deltas] = k
			byDeltas = append(byDeltas, nil)
		}
		byDeltas[k] = append(byDeltas[k], si)
	}
	for _, sis := range byDeltas {
		for _, si := range sis {
			st := steps[si]
			dec.segs = append(dec.segs, segment{kc: st.Cache, row: dec.n, n: 1, deltas: st.Deltas, step: si, ids: st.IDs})
			dec.n++
		}
	}
	if dec.n > 0 {
		b.run(&dec)
	}
	for si, st := range steps {
		if len(st.IDs) == 1 {
			continue
		}
		b.run(&group{n: len(st.IDs), segs: []segment{{kc: st.Cache, n: len(st.IDs), deltas: st.Deltas, step: si, ids: st.IDs}}})
	}
	return b.logits[:len(steps)*V], nil
}

// run takes a group's rows through every layer, the final norm and the LM head, appends their
// keys and values to the caches and writes each segment's last-token logits.
func (b *Batcher) run(g *group) {
	m, c := b.m, b.m.Config
	n := g.n
	C, I, Q, KVd, V := c.HiddenSize, c.IntermediateSize, c.QDim(), c.KVDim(), c.VocabSize
	b.x, b.ln, b.res2, b.scratch = grow(b.x, n*C), grow(b.ln, n*C), grow(b.res2, n*C), grow(b.scratch, n*C)
	b.attY, b.q = grow(b.attY, n*Q), grow(b.q, n*Q)
	b.kn, b.vn, b.qkv = grow(b.kn, n*KVd), grow(b.vn, n*KVd), grow(b.qkv, n*3*C)
	b.a, b.u, b.h = grow(b.a, n*I), grow(b.u, n*I), grow(b.h, n*I)

	x := b.x
	for _, sg := range g.segs {
		p0 := sg.kc.Len
		for i, id := range sg.ids {
			row := x[(sg.row+i)*C : (sg.row+i+1)*C]
			copy(row, m.Embed.W[id*C:(id+1)*C])
			if m.Pos != nil {
				for j, p := range m.Pos.W[(p0+i)*C : (p0+i+1)*C] {
					row[j] += p
				}
			}
		}
	}
	half := c.HeadDim / 2
	for l := range m.Blocks {
		blk := &m.Blocks[l]
		blk.Norm1.forward(b.ln, nil, nil, x, n, C)
		var q []float32
		var ldq int
		if c.Family == FamilyGPT2 {
			b.linear(g, blk.QKV, b.qkv, b.ln)
			q, ldq = b.qkv, 3*C
			for _, sg := range g.segs {
				p0 := sg.kc.Len
				for i := 0; i < sg.n; i++ {
					r := (sg.row + i) * 3 * C
					copy(sg.kc.k[l][(p0+i)*KVd:(p0+i+1)*KVd], b.qkv[r+C:r+2*C])
					copy(sg.kc.v[l][(p0+i)*KVd:(p0+i+1)*KVd], b.qkv[r+2*C:r+3*C])
				}
			}
		} else {
			b.linear(g, blk.Q, b.q, b.ln)
			b.linear(g, blk.K, b.kn, b.ln)
			b.linear(g, blk.V, b.vn, b.ln)
			for _, sg := range g.segs {
				p0 := sg.kc.Len
				for i := 0; i < sg.n; i++ {
					r := sg.row + i
					ropeTable(b.cos, b.sin, m.ropeInv, p0+i)
					kernels.RoPE(b.q[r*Q:], c.NumAttentionHeads, c.HeadDim, b.cos[:half], b.sin[:half], false)
					kernels.RoPE(b.kn[r*KVd:], c.NumKeyValueHeads, c.HeadDim, b.cos[:half], b.sin[:half], false)
				}
				copy(sg.kc.k[l][p0*KVd:(p0+sg.n)*KVd], b.kn[sg.row*KVd:(sg.row+sg.n)*KVd])
				copy(sg.kc.v[l][p0*KVd:(p0+sg.n)*KVd], b.vn[sg.row*KVd:(sg.row+sg.n)*KVd])
			}
			q, ldq = b.q, Q
		}
		for _, sg := range g.segs {
			b.s = m.attentionCached(b.attY[sg.row*Q:], q[sg.row*ldq:], ldq, sg.kc.k[l], sg.kc.v[l], sg.kc.Len, sg.n, blk.attnScale, blk.window, b.s)
		}
		b.linear(g, blk.O, b.scratch, b.attY)
		for i := range b.res2 {
			b.res2[i] = x[i] + b.scratch[i]
		}
		blk.Norm2.forward(b.ln, nil, nil, b.res2, n, C)
		if c.Family == FamilyGPT2 {
			b.linear(g, blk.Up, b.a, b.ln)
			for _, sg := range g.segs { // per sequence: the vector kernels' tails depend on the length
				lo, hi := sg.row*I, (sg.row+sg.n)*I
				if c.Act == "gelu" {
					kernels.GELUErfForward(b.h[lo:hi], b.a[lo:hi], hi-lo)
				} else {
					kernels.GELUTanhForward(b.h[lo:hi], b.a[lo:hi], hi-lo)
				}
			}
		} else {
			b.linear(g, blk.Gate, b.a, b.ln)
			b.linear(g, blk.Up, b.u, b.ln)
			for _, sg := range g.segs {
				lo, hi := sg.row*I, (sg.row+sg.n)*I
				kernels.SwiGLUForward(b.h[lo:hi], b.a[lo:hi], b.u[lo:hi], hi-lo)
			}
		}
		b.linear(g, blk.Down, b.scratch, b.h)
		for i := range x {
			x[i] = b.res2[i] + b.scratch[i]
		}
	}
	m.Final.forward(b.ln, nil, nil, x, n, C)
	if g.shared {
		b.head = grow(b.head, n*V)
		gemm.SgemmRowwise(n, V, C, 1, b.ln, C, m.LMHead.W, C, 0, b.head, V)
		for _, sg := range g.segs {
			copy(b.logits[sg.step*V:(sg.step+1)*V], b.head[sg.row*V:(sg.row+1)*V])
		}
	} else {
		// The last RowwiseM+1 rows: with more than RowwiseM rows the product takes the blocked path,
		// whose last row has the bits of the whole prompt's product (ForwardCached's).
		sg := g.segs[0]
		r := min(sg.n, gemm.RowwiseM+1)
		b.head = grow(b.head, r*V)
		gemm.Sgemm(false, true, r, V, C, 1, b.ln[(sg.n-r)*C:], C, m.LMHead.W, C, 0, b.head, V)
		copy(b.logits[sg.step*V:(sg.step+1)*V], b.head[(r-1)*V:r*V])
	}
	for _, sg := range g.segs {
		sg.kc.Len += sg.n
	}
}

// linear computes y = x·Wᵀ + b + each row's update for the group's rows: x (n, In), y (n, Out).
// A prefill takes its own layer's path with its Delta (fused into the base product as
// ForwardCached does). Shared decode rows take the base product row by row (SgemmRowwise) and
// each run of rows with the same Deltas adds that update in calls of at most RowwiseM rows, so no
// row's bits depend on its neighbours; the order of bias and update is the layer's own.
func (b *Batcher) linear(g *group, l *Linear, y, x []float32) {
	if !g.shared {
		lc := *l // a private copy carrying this sequence's Delta; the model's layer is untouched
		lc.Delta = deltaFor(g.segs[0].deltas, l)
		lc.forward(y, x, g.n)
		return
	}
	gemm.SgemmRowwise(g.n, l.Out, l.In, 1, x, l.In, l.W, l.In, 0, y, l.Out)
	for lo := 0; lo < g.n; {
		ds := g.segs[lo].deltas
		hi := lo + 1
		for hi < g.n && g.segs[hi].deltas == ds {
			hi++
		}
		d := deltaFor(ds, l)
		ys, xs := y[lo*l.Out:hi*l.Out], x[lo*l.In:hi*l.In]
		_, fused := d.(FusedDelta)
		if !fused {
			l.addBias(ys, hi-lo)
		}
		if d != nil {
			for i := 0; i < hi-lo; i += gemm.RowwiseM {
				k := min(gemm.RowwiseM, hi-lo-i)
				d.Forward(ys[i*l.Out:(i+k)*l.Out], xs[i*l.In:(i+k)*l.In], k)
			}
		}
		if fused {
			l.addBias(ys, hi-lo)
		}
		lo = hi
	}
}

// deltaFor is ds's update on l (nil for the base model).
func deltaFor(ds Deltas, l *Linear) Delta {
	if ds == nil {
		return nil
	}
	return ds.DeltaFor(l)
}
