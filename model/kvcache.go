package model

import (
	"fmt"

	"github.com/moslora/moslora/kernels"
	"github.com/moslora/moslora/kernels/gemm"
)

// KVCache holds the keys and values (after rotation) of the tokens a single sequence has seen,
// for incremental decoding with ForwardCached. Its buffers are allocated once for Cap tokens.
type KVCache struct {
	Len int // tokens cached so far (the position of the next token)
	Cap int // maximum number of tokens

	k, v [][]float32 // L × (Cap, KV·D)

	// Step buffers for up to Cap new rows, grown on demand.
	x, ln, res2, attY, scratch []float32 // (n, C) / (n, H·D)
	q, kn, vn, qkv             []float32 // (n, H·D), (n, KV·D), (n, KV·D), (n, 3C)
	a, u, h                    []float32 // (n, I)
	s                          []float32 // (n, Len+n) attention scores of one head
	cos, sin                   []float32 // (D/2)
}

// NewKVCache returns an empty cache for up to maxLen tokens.
func (m *Model) NewKVCache(maxLen int) *KVCache {
	c := m.Config
	kc := &KVCache{Cap: maxLen, k: make([][]float32, c.NumHiddenLayers), v: make([][]float32, c.NumHiddenLayers)}
	for l := range kc.k {
		kc.k[l] = make([]float32, maxLen*c.KVDim())
		kc.v[l] = make([]float32, maxLen*c.KVDim())
	}
	kc.cos, kc.sin = make([]float32, c.HeadDim/2), make([]float32, c.HeadDim/2)
	return kc
}

// Reset empties the cache (keeping its buffers).
func (kc *KVCache) Reset() { kc.Len = 0 }

// ForwardCached runs the len(ids) new tokens of one sequence at positions cache.Len … through the
// model, attending to the cached tokens and to each other causally, appends their keys and values
// to the cache and returns their logits (len(ids), V). Feeding a prompt in one call and then one
// token at a time gives the same logits as Forward over the whole sequence.
func (m *Model) ForwardCached(ids []int, kc *KVCache) ([]float32, error) {
	c := m.Config
	n, p0 := len(ids), kc.Len
	if n == 0 {
		return nil, fmt.Errorf("model: ForwardCached: no tokens")
	}
	if p0+n > kc.Cap {
		return nil, fmt.Errorf("model: KV cache holds %d tokens; %d more do not fit", kc.Cap, n)
	}
	if c.Family == FamilyGPT2 && p0+n > c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("model: position %d exceeds n_positions %d", p0+n-1, c.MaxPositionEmbeddings)
	}
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return nil, fmt.Errorf("model: token id %d at %d is outside the vocabulary [0, %d)", id, i, c.VocabSize)
		}
	}
	C, I, Q, KVd := c.HiddenSize, c.IntermediateSize, c.QDim(), c.KVDim()
	kc.x, kc.ln, kc.res2, kc.scratch = grow(kc.x, n*C), grow(kc.ln, n*C), grow(kc.res2, n*C), grow(kc.scratch, n*C)
	kc.attY, kc.q = grow(kc.attY, n*Q), grow(kc.q, n*Q)
	kc.kn, kc.vn, kc.qkv = grow(kc.kn, n*KVd), grow(kc.vn, n*KVd), grow(kc.qkv, n*3*C)
	kc.a, kc.u, kc.h = grow(kc.a, n*I), grow(kc.u, n*I), grow(kc.h, n*I)

	x := kc.x
	for i, id := range ids {
		row := x[i*C : (i+1)*C]
		copy(row, m.Embed.W[id*C:(id+1)*C])
		if m.Pos != nil {
			for j, p := range m.Pos.W[(p0+i)*C : (p0+i+1)*C] {
				row[j] += p
			}
		}
	}
	half := c.HeadDim / 2
	for l := range m.Blocks {
		b := &m.Blocks[l]
		b.Norm1.forward(kc.ln, nil, nil, x, n, C)
		var q []float32
		var ldq int
		if c.Family == FamilyGPT2 {
			b.QKV.forward(kc.qkv, kc.ln, n)
			q, ldq = kc.qkv, 3*C
			for i := 0; i < n; i++ {
				copy(kc.k[l][(p0+i)*KVd:(p0+i+1)*KVd], kc.qkv[i*3*C+C:i*3*C+2*C])
				copy(kc.v[l][(p0+i)*KVd:(p0+i+1)*KVd], kc.qkv[i*3*C+2*C:(i+1)*3*C])
			}
		} else {
			b.Q.forward(kc.q, kc.ln, n)
			b.K.forward(kc.kn, kc.ln, n)
			b.V.forward(kc.vn, kc.ln, n)
			for i := 0; i < n; i++ {
				ropeTable(kc.cos, kc.sin, m.ropeInv, p0+i)
				kernels.RoPE(kc.q[i*Q:], c.NumAttentionHeads, c.HeadDim, kc.cos[:half], kc.sin[:half], false)
				kernels.RoPE(kc.kn[i*KVd:], c.NumKeyValueHeads, c.HeadDim, kc.cos[:half], kc.sin[:half], false)
			}
			copy(kc.k[l][p0*KVd:(p0+n)*KVd], kc.kn)
			copy(kc.v[l][p0*KVd:(p0+n)*KVd], kc.vn)
			q, ldq = kc.q, Q
		}
		kc.s = m.attentionCached(kc.attY, q, ldq, kc.k[l], kc.v[l], p0, n, b.attnScale, b.window, kc.s)
		b.O.forward(kc.scratch, kc.attY, n)
		for i := range kc.res2 {
			kc.res2[i] = x[i] + kc.scratch[i]
		}
		b.Norm2.forward(kc.ln, nil, nil, kc.res2, n, C)
		if c.Family == FamilyGPT2 {
			b.Up.forward(kc.a, kc.ln, n)
			if c.Act == "gelu" {
				kernels.GELUErfForward(kc.h, kc.a, n*I)
			} else {
				kernels.GELUTanhForward(kc.h, kc.a, n*I)
			}
		} else {
			b.Gate.forward(kc.a, kc.ln, n)
			b.Up.forward(kc.u, kc.ln, n)
			kernels.SwiGLUForward(kc.h, kc.a, kc.u, n*I)
		}
		b.Down.forward(kc.scratch, kc.h, n)
		for i := range x {
			x[i] = kc.res2[i] + kc.scratch[i]
		}
	}
	m.Final.forward(kc.ln, nil, nil, x, n, C)
	logits := make([]float32, n*c.VocabSize)
	gemm.Sgemm(false, true, n, c.VocabSize, C, 1, kc.ln, C, m.LMHead.W, C, 0, logits, c.VocabSize)
	kc.Len += n
	return logits, nil
}

// attentionCached computes attention of n new queries (positions p0 … p0+n−1, rows of q with
// stride ldq) over the cached keys and values (rows 0 … p0+n−1 of kc, vc with stride KV·D), one
// head at a time:
//
//	S = scale·Q_h·K_gᵀ (n, p0+n);  P = softmax over each row's visible span, 0 elsewhere;  out_h = P·V_g
//
// It returns the grown score buffer.
func (m *Model) attentionCached(out, q []float32, ldq int, kc, vc []float32, p0, n int, scale float32, window int, s []float32) []float32 {
	c := m.Config
	H, D, KVd, Q := c.NumAttentionHeads, c.HeadDim, c.KVDim(), c.QDim()
	rep := H / c.NumKeyValueHeads
	T := p0 + n
	s = grow(s, n*T)
	for h := 0; h < H; h++ {
		g := h / rep
		gemm.Sgemm(false, true, n, T, D, scale, q[h*D:], ldq, kc[g*D:], KVd, 0, s, T)
		for i := 0; i < n; i++ {
			pos := p0 + i
			lo := 0
			if window > 0 {
				lo = max(0, pos-window+1)
			}
			row := s[i*T : (i+1)*T]
			clear(row[:lo])
			kernels.SoftmaxForward(row[lo : pos+1])
			clear(row[pos+1:])
		}
		gemm.Sgemm(false, false, n, D, T, 1, s, T, vc[g*D:], KVd, 0, out[h*D:], Q)
	}
	return s
}
