package model

import (
	"github.com/moslora/moslora/kernels"
	"github.com/moslora/moslora/kernels/gemm"
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
	window   int     // sliding window (0: full causal): token i sees j with i−window < j ≤ i
	nw       int     // goroutines
	ldo      int     // stride of the output rows (H·D)
}

// span returns the attended key range [lo, i] of query i.
func (s *attnShape) span(i int) (lo, hi int) {
	lo = 0
	if s.window > 0 {
		lo = max(0, i-s.window+1)
	}
	return lo, i + 1
}

// attnBlock is the number of query rows whose scores are computed together: query rows [i0, i1)
// need only the keys [lo(i0), i1), so the masked upper triangle is mostly skipped. (A variable so
// tests can use several blocks on short sequences.)
var attnBlock = 64

// keys returns the key range [klo, i1) that query rows [i0, i1) can see.
func (s *attnShape) keys(i0, i1 int) (klo, khi int) {
	klo, _ = s.span(i0)
	return klo, i1
}

// attentionForward computes causal softmax attention per (batch, head), with GEMMs on blocks of
// query rows:
//
//	S = scale·Q·Kᵀ  (T, T);   P = softmax over the causal span of each row (0 elsewhere);
//	out = P·V  (T, D)
//
// att (B, H, T, T) receives P for the backward pass; out (B·T, H·D).
func attentionForward(out, att []float32, x qkv, s *attnShape) {
	T, D, rep := s.T, s.D, s.H/s.KV
	parallelFor(s.B*s.KV, s.nw, func(bg, _ int) {
		b, g := bg/s.KV, bg%s.KV
		kb := x.k[b*T*x.ldk+g*D:]
		vb := x.v[b*T*x.ldv+g*D:]
		for h := g * rep; h < (g+1)*rep; h++ {
			qb := x.q[b*T*x.ldq+h*D:]
			ob := out[b*T*s.ldo+h*D:]
			P := att[(b*s.H+h)*T*T : (b*s.H+h+1)*T*T]
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(T, i0+attnBlock)
				klo, khi := s.keys(i0, i1)
				gemm.Sgemm(false, true, i1-i0, khi-klo, D, s.scale, qb[i0*x.ldq:], x.ldq, kb[klo*x.ldk:], x.ldk, 0, P[i0*T+klo:], T)
				for i := i0; i < i1; i++ {
					row := P[i*T : (i+1)*T]
					lo, hi := s.span(i)
					clear(row[:lo])
					kernels.SoftmaxForward(row[lo:hi])
					clear(row[hi:])
				}
				gemm.Sgemm(false, false, i1-i0, D, khi-klo, 1, P[i0*T+klo:], T, vb[klo*x.ldv:], x.ldv, 0, ob[i0*s.ldo:], s.ldo)
			}
		}
	})
}

// attentionBackward inverts attentionForward. Per (batch, head) and block of query rows, with P
// saved:
//
//	dP = dO·Vᵀ;   dV += Pᵀ·dO;   dS = P ⊙ (dP − rowsum(P ⊙ dP))   (softmax backward)
//	dQ = scale·dS·K  (overwritten);   dK += scale·dSᵀ·Q
//
// d has the layout of x; its k and v parts must be zeroed by the caller (query heads sharing a KV
// head accumulate into it). Work is split by (batch, KV head) so no two goroutines write the same
// dK/dV rows. scratch holds one (T, T) buffer per worker.
func attentionBackward(d qkv, dout, att []float32, x qkv, s *attnShape, scratch [][]float32) {
	T, D, rep := s.T, s.D, s.H/s.KV
	parallelFor(s.B*s.KV, s.nw, func(bg, w int) {
		b, g := bg/s.KV, bg%s.KV
		kb, vb := x.k[b*T*x.ldk+g*D:], x.v[b*T*x.ldv+g*D:]
		dkb, dvb := d.k[b*T*d.ldk+g*D:], d.v[b*T*d.ldv+g*D:]
		dP := scratch[w][:T*T]
		for h := g * rep; h < (g+1)*rep; h++ {
			qb, dqb := x.q[b*T*x.ldq+h*D:], d.q[b*T*d.ldq+h*D:]
			dob := dout[b*T*s.ldo+h*D:]
			P := att[(b*s.H+h)*T*T : (b*s.H+h+1)*T*T]
			for i0 := 0; i0 < T; i0 += attnBlock {
				i1 := min(T, i0+attnBlock)
				klo, khi := s.keys(i0, i1)
				m, nk := i1-i0, khi-klo
				gemm.Sgemm(false, true, m, nk, D, 1, dob[i0*s.ldo:], s.ldo, vb[klo*x.ldv:], x.ldv, 0, dP[i0*T+klo:], T)
				gemm.Sgemm(true, false, nk, D, m, 1, P[i0*T+klo:], T, dob[i0*s.ldo:], s.ldo, 1, dvb[klo*d.ldv:], d.ldv)
				for i := i0; i < i1; i++ {
					lo, hi := s.span(i)
					row := dP[i*T : (i+1)*T]
					kernels.SoftmaxBackward(row[lo:hi], P[i*T+lo:i*T+hi], row[lo:hi])
					clear(row[klo:lo])
					clear(row[hi:khi])
				}
				gemm.Sgemm(false, false, m, D, nk, s.scale, dP[i0*T+klo:], T, kb[klo*x.ldk:], x.ldk, 0, dqb[i0*d.ldq:], d.ldq)
				gemm.Sgemm(true, false, nk, D, m, s.scale, dP[i0*T+klo:], T, qb[i0*x.ldq:], x.ldq, 1, dkb[klo*d.ldk:], d.ldk)
			}
		}
	})
}
