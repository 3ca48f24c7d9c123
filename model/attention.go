package model

import (
	"math"

	"github.com/moslora/moslora/kernels"
)

// qkv locates the queries, keys and values of one layer: row n of q holds the H heads of token n
// (head h at columns h·D …), rows of k and v the KV heads. Strides let GPT-2's fused c_attn output
// (N, 3C) be read in place (q, k, v = qkv[0:], qkv[C:], qkv[2C:], all with stride 3C).
type qkv struct {
	q, k, v       []float32
	ldq, ldk, ldv int
}

// attnShape is the geometry of one attention call.
type attnShape struct {
	B, T     int     // batch, sequence
	H, KV, D int     // query heads, key/value heads (GQA: H/KV queries share one KV head), head dim
	scale    float32 // score scale, 1/sqrt(D)
	softcap  float32 // scores = softcap·tanh(scores/softcap) before the softmax (0: none)
	window   int     // sliding window (0: full causal): token i sees j with i−window < j ≤ i
	nw       int     // goroutines
	ldo      int     // stride of the output rows (H·D)

	tscratch [][]float32 // softcap only, backward: one (attnBlock, T) buffer per worker

	// bf16: the products run on bfloat16-rounded inputs with float32 accumulation (ComputeBF16;
	// see attention16.go), their B operands rounded once per call into *ops.
	bf16 bool
	ops  *[]uint16
}

// capScores applies attention softcapping in place, x = c·tanh(x/c), in float32 steps as
// transformers does; nothing when c is 0.
func capScores(x []float32, c float32) {
	if c == 0 {
		return
	}
	for j, v := range x {
		x[j] = float32(math.Tanh(float64(v/c))) * c
	}
}

// uncapGrad turns the gradient d with respect to capped scores into the gradient with respect to
// the raw scores s (same length): d·(1 − tanh²(s/c)).
func uncapGrad(d, s []float32, c float32) {
	for j, v := range s {
		t := float32(math.Tanh(float64(v / c)))
		d[j] *= 1 - t*t
	}
}

// span returns the attended key range [lo, i] of query i.
func (s *attnShape) span(i int) (lo, hi int) {
	lo = 0
	if s.window > 0 {
		lo = max(0, i-s.window+1)
	}
	return lo, i + 1
}

// attnSaveBytes bounds the attention probabilities a training step keeps for the backward pass
// (B·H·T²·L floats): within it every layer's P is saved; beyond it (the 135M shape at 4×512
// would keep 1.1 GB) P is recomputed in the backward pass, one block at a time. base-19m at
// 4×512 keeps 200 MB. (A variable so tests can force either path.)
var attnSaveBytes = 256 << 20

// attnBlock is the number of query rows whose scores are computed together: query rows [i0, i1)
// need only the keys [lo(i0), i1), so the masked upper triangle is mostly skipped. (A variable so
// tests can use several blocks on short sequences.)
var attnBlock = 64

// keys returns the key range [klo, i1) that query rows [i0, i1) can see. Under bf16 compute klo
// is rounded down to a multiple of 4 (the extra keys get probability 0): the products then pair
// the keys and split them between the kernel's two accumulator sets as a decoding step does,
// whose keys start at 0 (attentionCached), so both give the same bits.
func (s *attnShape) keys(i0, i1 int) (klo, khi int) {
	klo, _ = s.span(i0)
	if s.bf16 {
		klo &^= 3
	}
	return klo, i1
}

// probs computes the attention probabilities of query rows [i0, i1) of one head into P, a
// (i1−i0, T) block (row i at (i−i0)·T), and returns the key range [klo, khi) those rows see:
//
//	P[i, klo:khi] = softmax over j in [lo(i), i] of cap(scale·q_i·k_j) (0 for the other j)
//
// where cap is the identity, or with softcapping s ↦ c·tanh(s/c).
// Only columns [klo, khi) are written. The forward pass and the backward pass (which recomputes
// P rather than keeping B·H·T² probabilities per layer) call it with the same arguments, so both
// see bitwise the same P. qb: this (batch, head)'s queries with stride ldq; kb its keys.
func probs(P, qb []float32, ldq int, kb operand, s *attnShape, i0, i1 int) (klo, khi int) {
	T := s.T
	klo, khi = s.keys(i0, i1)
	s.product(false, true, i1-i0, khi-klo, s.D, s.scale, qb[i0*ldq:], ldq, kb.row(klo), 0, P[klo:], T)
	for i := i0; i < i1; i++ {
		row := P[(i-i0)*T : (i-i0+1)*T]
		lo, hi := s.span(i)
		clear(row[klo:lo])
		capScores(row[lo:hi], s.softcap)
		kernels.SoftmaxForward(row[lo:hi])
		clear(row[hi:khi])
	}
	return klo, khi
}

// attentionForward computes causal softmax attention per (batch, head), with GEMMs on blocks of
// attnBlock query rows:
//
//	S = scale·Q·Kᵀ  (T, T);   P = softmax over the causal span of each row (0 elsewhere);
//	out = P·V  (T, D)
//
// out (B·T, H·D). att (B, H, T, T), when not nil, receives P for the backward pass (only the
// columns [klo, khi) of each block of rows are written); with att nil, P lives one block at a
// time in pscratch (one (attnBlock, T) buffer per worker) and the backward pass recomputes it.
// Under bf16 compute (s.bf16) the two products run on bf16-rounded inputs (attention16.go).
func attentionForward(out, att []float32, x qkv, s *attnShape, pscratch [][]float32) {
	T, D, rep := s.T, s.D, s.H/s.KV
	o := s.operands(x, nil, false)
	// One item per (batch, query head): nothing is shared between them in the forward pass, and
	// more, smaller items balance cores of unequal speed better.
	parallelFor(s.B*s.H, s.nw, func(bh, w int) {
		b, h := bh/s.H, bh%s.H
		g := h / rep
		kb, vb := o.k.at(b*T, g*D), o.v.at(b*T, g*D)
		P := pscratch[w]
		qb := x.q[b*T*x.ldq+h*D:]
		ob := out[b*T*s.ldo+h*D:]
		for i0 := 0; i0 < T; i0 += attnBlock {
			i1 := min(T, i0+attnBlock)
			if att != nil {
				P = att[((b*s.H+h)*T+i0)*T:]
			}
			klo, khi := probs(P, qb, x.ldq, kb, s, i0, i1)
			s.product(false, false, i1-i0, D, khi-klo, 1, P[klo:], T, vb.row(klo), 0, ob[i0*s.ldo:], s.ldo)
		}
	})
}

// attentionBackward inverts attentionForward. Per (batch, head) and block of query rows, with P
// read from att as the forward pass saved it, or, with att nil, recomputed by probs (one more
// Q·Kᵀ and softmax per block: about 8% of a base-19m step, against B·H·T² floats per layer;
// see attnSaveBytes):
//
//	dP = dO·Vᵀ;   dV += Pᵀ·dO;   dS = P ⊙ (dP − rowsum(P ⊙ dP))   (softmax backward)
//	dQ = scale·dS·K  (overwritten);   dK += scale·dSᵀ·Q
//
// With softcapping the raw scores R = scale·Q·Kᵀ of the block are recomputed (into s.tscratch)
// and dS ← dS ⊙ (1 − tanh²(R/c)) before the last two products.
//
// d has the layout of x; its k and v parts must be zeroed by the caller (query heads sharing a KV
// head accumulate into it). Work is split by (batch, KV head) so no two goroutines write the same
// dK/dV rows. pscratch and dscratch hold one (attnBlock, T) buffer per worker each. Under bf16
// compute every product runs on bf16-rounded inputs (attention16.go): P and dS are rounded as
// they enter them, the softmax backward reads the float32 P.
func attentionBackward(d qkv, dout, att []float32, x qkv, s *attnShape, pscratch, dscratch [][]float32) {
	T, D, rep := s.T, s.D, s.H/s.KV
	o := s.operands(x, dout, true)
	parallelFor(s.B*s.KV, s.nw, func(bg, w int) {
		b, g := bg/s.KV, bg%s.KV
		kb, vb := o.k.at(b*T, g*D), o.v.at(b*T, g*D)
		dkb, dvb := d.k[b*T*d.ldk+g*D:], d.v[b*T*d.ldv+g*D:]
		P, dP := pscratch[w], dscratch[w]
		var R []float32
		if s.softcap != 0 {
			R = s.tscratch[w]
		}
		for h := g * rep; h < (g+1)*rep; h++ {
			qb, dqb := x.q[b*T*x.ldq+h*D:], d.q[b*T*d.ldq+h*D:]
			dob := dout[b*T*s.ldo+h*D:]
			qo, doo := o.q.at(b*T, h*D), o.do.at(b*T, h*D) // the same rows as B operands
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(T, i0+attnBlock)
				var klo, khi int
				if att != nil {
					P = att[((b*s.H+h)*T+i0)*T:]
					klo, khi = s.keys(i0, i1)
				} else {
					klo, khi = probs(P, qb, x.ldq, kb, s, i0, i1)
				}
				m, nk := i1-i0, khi-klo
				if R != nil {
					s.product(false, true, m, nk, D, s.scale, qb[i0*x.ldq:], x.ldq, kb.row(klo), 0, R[klo:], T)
				}
				s.product(false, true, m, nk, D, 1, dob[i0*s.ldo:], s.ldo, vb.row(klo), 0, dP[klo:], T)
				s.product(true, false, nk, D, m, 1, P[klo:], T, doo.row(i0), 1, dvb[klo*d.ldv:], d.ldv)
				for i := i0; i < i1; i++ {
					lo, hi := s.span(i)
					r := (i - i0) * T
					row := dP[r : r+T]
					kernels.SoftmaxBackward(row[lo:hi], P[r+lo:r+hi], row[lo:hi])
					if R != nil {
						uncapGrad(row[lo:hi], R[r+lo:r+hi], s.softcap)
					}
					clear(row[klo:lo])
					clear(row[hi:khi])
				}
				s.product(false, false, m, D, nk, s.scale, dP[klo:], T, kb.row(klo), 0, dqb[i0*d.ldq:], d.ldq)
				s.product(true, false, nk, D, m, s.scale, dP[klo:], T, qo.row(i0), 1, dkb[klo*d.ldk:], d.ldk)
			}
		}
	})
}
