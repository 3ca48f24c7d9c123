package model

import "github.com/moslora/moslora/kernels/gemm"

// Attention under bf16 compute (ComputeBF16). Every product of attention — S = scale·Q·Kᵀ, P·V,
// and in the backward pass dP = dO·Vᵀ, dV += Pᵀ·dO, dQ = scale·dS·K, dK += scale·dSᵀ·Q (and
// the recomputed scores) — runs on bfloat16-rounded inputs with float32 accumulation
// (gemm.SgemmBF16Compute), as PyTorch's CPU autocast runs bmm and scaled_dot_product_attention:
// P and dS, float32 results of the float32 softmax and its backward, are rounded when they enter
// the next product. Scores, probabilities, the softmax and its backward stay float32.
//
// The B operand of each product (K, V, Q, dO: activations read by many blocks of query rows and
// by every query head of a KV group) is rounded once per call into a bf16 copy and given to the
// GEMM as bits, so its packing is the fast path for bf16 weights; the A operand (Q, dO, P, dS
// rows, or Pᵀ and dSᵀ) is rounded while packed. Rounding is value by value (gemm.RoundBF16), so
// where a value is rounded does not change a bit.

// operand is the B operand of an attention product: float32 rows x (stride ld) and, under bf16
// compute, the same rows rounded to bfloat16, x16 (stride ld16).
type operand struct {
	x    []float32
	ld   int
	x16  []uint16
	ld16 int
}

// at is o from row r, column c on.
func (o operand) at(r, c int) operand {
	o.x = o.x[r*o.ld+c:]
	if o.x16 != nil {
		o.x16 = o.x16[r*o.ld16+c:]
	}
	return o
}

// row is o from row r on.
func (o operand) row(r int) operand { return o.at(r, 0) }

// attnProduct computes c = alpha·op(a)·op(b) + beta·c in float32 (gemm.Sgemm on b.x) or, with
// bf16, on bfloat16-rounded inputs with float32 accumulation (b.x16 as bits).
func attnProduct(bf16, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b operand, beta float32, c []float32, ldc int) {
	if bf16 {
		gemm.SgemmBF16Compute(transA, transB, m, n, k, alpha, a, lda, gemm.Weights{BF16: b.x16}, b.ld16, beta, c, ldc)
		return
	}
	gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b.x, b.ld, beta, c, ldc)
}

// product is attnProduct in the shape's arithmetic.
func (s *attnShape) product(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b operand, beta float32, c []float32, ldc int) {
	attnProduct(s.bf16, transA, transB, m, n, k, alpha, a, lda, b, beta, c, ldc)
}

// attnOps are the B operands of one attention call: q, k, v (and dO, the output's gradient, in
// the backward pass) as (B·T) rows.
type attnOps struct{ q, k, v, do operand }

// operands returns the call's B operands: x's q, k, v and dout as float32 views, and under bf16
// compute their rounded copies in *s.ops (k and v; with backward also q and dO).
func (s *attnShape) operands(x qkv, dout []float32, backward bool) attnOps {
	o := attnOps{q: operand{x: x.q, ld: x.ldq}, k: operand{x: x.k, ld: x.ldk}, v: operand{x: x.v, ld: x.ldv}, do: operand{x: dout, ld: s.ldo}}
	if !s.bf16 {
		return o
	}
	N, qd, kvd := s.B*s.T, s.H*s.D, s.KV*s.D
	n := 2 * N * kvd
	if backward {
		n += 2 * N * qd
	}
	if s.ops == nil {
		s.ops = new([]uint16)
	}
	if cap(*s.ops) < n {
		*s.ops = make([]uint16, n)
	}
	buf := (*s.ops)[:n]
	round := func(o *operand, w int) {
		o.x16, o.ld16, buf = buf[:N*w], w, buf[N*w:]
		roundRows(o.x16, o.x, o.ld, w, N)
	}
	round(&o.k, kvd)
	round(&o.v, kvd)
	if backward {
		round(&o.q, qd)
		round(&o.do, qd)
	}
	return o
}

// roundRows sets dst (n, w) to rows [0, n) of src (width w, stride ld) rounded to bfloat16.
func roundRows(dst []uint16, src []float32, ld, w, n int) {
	parallelRange(n, normGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			gemm.RoundBF16s(dst[r*w:(r+1)*w], src[r*ld:r*ld+w])
		}
	})
}
