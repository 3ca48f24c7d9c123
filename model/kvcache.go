package model

import (
	"fmt"

	"github.com/moslora/moslora/kernels"
)

// KVCache holds the keys and values (after rotation) of the tokens a single sequence has seen,
// for incremental decoding with ForwardCached. Its buffers are allocated once for Cap tokens.
type KVCache struct {
	Len int // tokens cached so far (the position of the next token)
	Cap int // maximum number of tokens

	k, v [][]float32 // L × (Cap, KV·D)

	// Under bf16 compute: k and v rounded to bfloat16, rows [0, n16[l]) of layer l valid (as
	// far as Len: rows from Len on are rewritten by the next store). Allocated on first use.
	k16, v16 [][]uint16
	n16      []int

	// Step buffers for up to Cap new rows, grown on demand.
	x        []float32   // (n, C) residual stream, updated block by block in place
	la       layerActs   // one block's activations (no norm statistics), reused by every block
	scratch  []float32   // (n, C)
	s        []float32   // (n, Len+n) attention scores of one head
	cos, sin [][]float32 // per rotary setting: (n, D/2) table of the new positions
}

// NewKVCache returns an empty cache for up to maxLen tokens.
func (m *Model) NewKVCache(maxLen int) *KVCache {
	c := m.Config
	kc := &KVCache{Cap: maxLen, k: make([][]float32, c.NumHiddenLayers), v: make([][]float32, c.NumHiddenLayers)}
	for l := range kc.k {
		kc.k[l] = make([]float32, maxLen*c.KVDim())
		kc.v[l] = make([]float32, maxLen*c.KVDim())
	}
	return kc
}

// Reset empties the cache (keeping its buffers).
func (kc *KVCache) Reset() { kc.Len = 0 }

// store copies the keys and values of n new rows (x.k, x.v with their strides) into layer l's
// cache at positions Len … Len+n−1.
func (kc *KVCache) store(l int, x qkv, n, kvd int) {
	for i := 0; i < n; i++ {
		p := kc.Len + i
		copy(kc.k[l][p*kvd:(p+1)*kvd], x.k[i*x.ldk:i*x.ldk+kvd])
		copy(kc.v[l][p*kvd:(p+1)*kvd], x.v[i*x.ldv:i*x.ldv+kvd])
	}
}

// ForwardCached runs the len(ids) new tokens of one sequence at positions cache.Len … through the
// model, attending to the cached tokens and to each other causally, appends their keys and values
// to the cache and returns their logits (len(ids), V). Feeding a prompt in one call and then one
// token at a time gives the same logits as Forward over the whole sequence. The blocks are the
// ones Forward runs (blockForward), with the cache as their attention's memory.
func (m *Model) ForwardCached(ids []int, kc *KVCache) ([]float32, error) {
	c := m.Config
	n, p0 := len(ids), kc.Len
	if n == 0 {
		return nil, fmt.Errorf("model: ForwardCached: no tokens")
	}
	if p0+n > kc.Cap {
		return nil, fmt.Errorf("model: KV cache holds %d tokens; %d more do not fit", kc.Cap, n)
	}
	if m.Pos != nil && p0+n > c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("model: position %d exceeds n_positions %d", p0+n-1, c.MaxPositionEmbeddings)
	}
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return nil, fmt.Errorf("model: token id %d at %d is outside the vocabulary [0, %d)", id, i, c.VocabSize)
		}
	}
	C := c.HiddenSize
	kc.x, kc.scratch = grow(kc.x, n*C), grow(kc.scratch, n*C)
	m.growQKV(&kc.la, n)
	p := &pass{B: 1, T: n, N: n, pos0: p0, scratch: kc.scratch, seqs: []seqRows{{n: n, kc: kc}}}
	if m.lay.rope {
		kc.cos, kc.sin = ropeTables(m.ropeInv, p0, n, c.HeadDim/2, kc.cos, kc.sin)
		p.cos, p.sin = kc.cos, kc.sin
	}
	m.embed(kc.x, ids, p)
	for l := range m.Blocks {
		m.blockForward(l, kc.x, kc.x, &kc.la, p)
	}
	m.Final.forward(kc.la.ln1, nil, nil, kc.x, n, C)
	logits := make([]float32, n*c.VocabSize)
	m.headProduct(true, n, c.VocabSize, C, 1, kc.la.ln1, C, 0, logits, c.VocabSize)
	softcapRows(logits, nil, m.lay.logitCap, n)
	kc.Len += n
	return logits, nil
}

// attentionCached computes attention of n new queries (positions p0 … p0+n−1 with p0 = kc.Len,
// rows of q with stride ldq) over layer l's cached keys and values (rows 0 … p0+n−1), one head
// at a time, into out (stride H·D):
//
//	S = scale·Q_h·K_gᵀ (n, p0+n);  P = softmax over each row's visible span of S (softcapped
//	when the layout says so), 0 elsewhere;  out_h = P·V_g
//
// in the model's arithmetic. Under bf16 compute (attention16.go) the products are the ones the
// training/evaluation forward runs for the same rows (row by row the same bits: the keys start
// at 0 here and at a multiple of 4 there, see attnShape.keys), so decoding gives the forward's
// attention bit for bit.
func (m *Model) attentionCached(out, q []float32, ldq int, kc *KVCache, l, n int, scale float32, window int) {
	c := m.Config
	H, D, KVd, Q := c.NumAttentionHeads, c.HeadDim, c.KVDim(), c.QDim()
	rep := H / c.NumKeyValueHeads
	p0 := kc.Len
	T := p0 + n
	kc.s = grow(kc.s, n*T)
	s := kc.s
	bf16 := m.compute == ComputeBF16
	ko, vo := operand{x: kc.k[l], ld: KVd}, operand{x: kc.v[l], ld: KVd}
	if bf16 {
		ko.x16, vo.x16 = kc.rounded(l, T, KVd)
		ko.ld16, vo.ld16 = KVd, KVd
	}
	for h := 0; h < H; h++ {
		g := h / rep
		attnProduct(bf16, false, true, n, T, D, scale, q[h*D:], ldq, ko.at(0, g*D), 0, s, T)
		for i := 0; i < n; i++ {
			pos := p0 + i
			lo := 0
			if window > 0 {
				lo = max(0, pos-window+1)
			}
			row := s[i*T : (i+1)*T]
			clear(row[:lo])
			capScores(row[lo:pos+1], m.lay.attnCap)
			kernels.SoftmaxForward(row[lo : pos+1])
			clear(row[pos+1:])
		}
		attnProduct(bf16, false, false, n, D, T, 1, s, T, vo.at(0, g*D), 0, out[h*D:], Q)
	}
}

// rounded returns layer l's keys and values rounded to bfloat16, rows [0, T) valid: the rows
// not rounded yet (those stored since the last call, or all after a Reset) are rounded now.
func (kc *KVCache) rounded(l, T, kvd int) (k16, v16 []uint16) {
	if kc.k16 == nil {
		L := len(kc.k)
		kc.k16, kc.v16, kc.n16 = make([][]uint16, L), make([][]uint16, L), make([]int, L)
	}
	if kc.k16[l] == nil {
		kc.k16[l], kc.v16[l] = make([]uint16, kc.Cap*kvd), make([]uint16, kc.Cap*kvd)
	}
	if from := min(kc.n16[l], kc.Len); from < T {
		roundRows(kc.k16[l][from*kvd:], kc.k[l][from*kvd:], kvd, kvd, T-from)
		roundRows(kc.v16[l][from*kvd:], kc.v[l][from*kvd:], kvd, kvd, T-from)
	}
	kc.n16[l] = T
	return kc.k16[l], kc.v16[l]
}
