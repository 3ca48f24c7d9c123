package model

import (
	"fmt"

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
// The layers are the decoder block every path runs (blockForward), given the sequences' rows,
// caches and adapters as data (pass.seqs, pass.held) and row-wise products (pass.rowwise).
//
// # Invariants
//
//   - Batch invariance: a sequence's logits have the same bits whatever other sequences share its
//     step. Decode rows use gemm.SgemmRowwise for the base (under bf16 compute the bf16 products,
//     whose rows never depend on each other) and calls of at most gemm.RowwiseM rows for the
//     updates, elementwise kernels run per sequence; a prefill runs alone.
//   - The logits equal ForwardCached's bit for bit for the same tokens and adapter attached: a
//     decode row is computed as ForwardCached computes one token, a prefill as ForwardCached
//     computes its prompt (the LM head over the last gemm.RowwiseM+1 rows, whose last row has the
//     bits of the whole prompt's product).
//   - A Batcher owns its scratch buffers: it is not safe for concurrent use, and the base model's
//     weights and attached Deltas are never touched.
type Batcher struct {
	m *Model

	x, scratch []float32   // (n, C) residual stream (updated in place) and projection output
	la         layerActs   // one block's activations (no norm statistics), reused by every block
	ids, pos   []int       // (n) the rows' tokens and positions
	cos, sin   [][]float32 // per rotary setting: (n, D/2) table of the rows' positions
	seqs       []seqRows
	head       []float32 // (rows, V) LM head products
	logits     []float32 // (len(steps), V)
}

// NewBatcher returns a Batcher for m.
func (m *Model) NewBatcher() *Batcher { return &Batcher{m: m} }

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
		case b.m.Pos != nil && st.Cache.Len+n > c.MaxPositionEmbeddings:
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
	var dec []int
	for _, sis := range byDeltas {
		dec = append(dec, sis...)
	}
	if len(dec) > 0 {
		b.run(steps, dec, true)
	}
	for si, st := range steps {
		if len(st.IDs) > 1 {
			b.run(steps, []int{si}, false)
		}
	}
	return b.logits[:len(steps)*V], nil
}

// run takes the rows of steps[which] (decode rows sharing products when shared, else one prefill)
// through every block, the final norm and the LM head, appends their keys and values to the
// caches and writes each step's last-token logits.
func (b *Batcher) run(steps []Step, which []int, shared bool) {
	m, c := b.m, b.m.Config
	b.seqs, b.ids, b.pos = b.seqs[:0], b.ids[:0], b.pos[:0]
	for _, si := range which {
		st := steps[si]
		b.seqs = append(b.seqs, seqRows{row: len(b.ids), n: len(st.IDs), kc: st.Cache, deltas: st.Deltas})
		b.ids = append(b.ids, st.IDs...)
		for i := range st.IDs {
			b.pos = append(b.pos, st.Cache.Len+i)
		}
	}
	n, C, V := len(b.ids), c.HiddenSize, c.VocabSize
	b.x, b.scratch = grow(b.x, n*C), grow(b.scratch, n*C)
	m.growQKV(&b.la, n)
	p := &pass{B: 1, T: n, N: n, pos: b.pos, scratch: b.scratch, seqs: b.seqs, held: true, rowwise: shared}
	if m.lay.rope {
		b.cos, b.sin = ropeTablesAt(m.ropeInv, b.pos, c.HeadDim/2, b.cos, b.sin)
		p.cos, p.sin = b.cos, b.sin
	}
	m.embed(b.x, b.ids, p)
	for l := range m.Blocks {
		m.blockForward(l, b.x, b.x, &b.la, p)
	}
	ln := b.la.ln1
	m.Final.forward(ln, nil, nil, b.x, n, C)
	if shared {
		b.head = grow(b.head, n*V)
		if m.compute == ComputeBF16 { // rows independent of each other (see heldLinear)
			m.headProduct(true, n, V, C, 1, ln, C, 0, b.head, V)
		} else {
			gemm.SgemmRowwiseW(n, V, C, 1, ln, C, m.LMHead.weights(), C, 0, b.head, V)
		}
		softcapRows(b.head, nil, m.lay.logitCap, n)
		for k, s := range b.seqs {
			copy(b.logits[which[k]*V:(which[k]+1)*V], b.head[s.row*V:(s.row+1)*V])
		}
	} else {
		// The last RowwiseM+1 rows: with more than RowwiseM rows the product takes the blocked path,
		// whose last row has the bits of the whole prompt's product (ForwardCached's).
		r := min(n, gemm.RowwiseM+1)
		b.head = grow(b.head, r*V)
		m.headProduct(true, r, V, C, 1, ln[(n-r)*C:], C, 0, b.head, V)
		softcapRows(b.head, nil, m.lay.logitCap, r)
		copy(b.logits[which[0]*V:(which[0]+1)*V], b.head[(r-1)*V:r*V])
	}
	for _, s := range b.seqs {
		s.kc.Len += s.n
	}
}

// heldLinear computes y = x·Wᵀ + b + each sequence's update for the pass's rows: x (N, In),
// y (N, Out). One sequence's rows (a prefill) take the layer's own product with that sequence's
// update (Linear.forwardWith: ForwardCached's product with the adapter attached). Row-wise rows
// take the base product row by row (SgemmRowwise) and each run of rows with the same Deltas adds
// that update in calls of at most RowwiseM rows, so no row's bits depend on its neighbours; the
// bias comes last, as in Linear.forward (whose update, at most RowwiseM rows, is added after
// the base product, not in the same GEMM: gemm.SgemmSum's small-m path).
func (p *pass) heldLinear(l *Linear, y, x []float32) {
	if !p.rowwise {
		l.forwardWith(y, x, p.N, deltaFor(p.seqs[0].deltas, l))
		return
	}
	if l.bf16 {
		// bf16 compute: the base product on bf16 inputs gives each row its own bits whatever
		// the rows beside it (it never takes the small-m path), so each run of rows with the
		// same update takes the layer's own product, fused with the update, in calls of at most
		// RowwiseM rows (the update's first product, x·Aᵀ, then has a row's bits alone too).
		for _, s := range p.seqs {
			for r := s.row; r < s.row+s.n; r += gemm.RowwiseM {
				k := min(gemm.RowwiseM, s.row+s.n-r)
				l.forwardWith(y[r*l.Out:(r+k)*l.Out], x[r*l.In:(r+k)*l.In], k, deltaFor(s.deltas, l))
			}
		}
		return
	}
	gemm.SgemmRowwiseW(p.N, l.Out, l.In, 1, x, l.In, l.weights(), l.In, 0, y, l.Out)
	for i := 0; i < len(p.seqs); {
		ds, lo := p.seqs[i].deltas, p.seqs[i].row
		for i < len(p.seqs) && p.seqs[i].deltas == ds {
			i++
		}
		hi := p.seqs[i-1].row + p.seqs[i-1].n
		d := deltaFor(ds, l)
		if d == nil {
			continue
		}
		for r := lo; r < hi; r += gemm.RowwiseM {
			k := min(gemm.RowwiseM, hi-r)
			t := d.ForwardTerm(x[r*l.In:(r+k)*l.In], k)
			AddTerm(y[r*l.Out:(r+k)*l.Out], t, true, k, l.Out, nil)
		}
	}
	l.addBias(y, p.N)
}

// deltaFor is ds's update on l (nil for the base model).
func deltaFor(ds Deltas, l *Linear) Delta {
	if ds == nil {
		return nil
	}
	return ds.DeltaFor(l)
}
