package gemm

import "fmt"

// Shape is one product of the benchmark families: C (M, N) = op(A)·op(B) summed over K.
type Shape struct {
	TransA, TransB bool
	M, N, K        int
	Skinny         bool // a LoRA product (M, N or K = r): target ≥ 50% of OpenBLAS, not 85%
	Huge           bool // the vocabulary product: slow, skipped by -short
}

// Name is "NT/2048x1536x576": the form (N or T for A, then B) and M×N×K.
func (s Shape) Name() string {
	f := [2]byte{'N', 'N'}
	if s.TransA {
		f[0] = 'T'
	}
	if s.TransB {
		f[1] = 'T'
	}
	return fmt.Sprintf("%s/%dx%dx%d", f[:], s.M, s.N, s.K)
}

// Flops is the multiply-adds of the product counted as two operations.
func (s Shape) Flops() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// BenchShapes are the products of one training step of the 135M Llama shape (hidden 576,
// intermediate 1536, vocabulary 49152) at 2048 tokens with LoRA rank 16, then a few of base-19m:
//
//	forward   y = x·Wᵀ       NT  (tokens, out, in)
//	input     dx = dy·W      NN  (tokens, in, out)
//	weight    dW = dyᵀ·x     TN  (out, in, tokens)
//	LoRA      x·Aᵀ (NT, N = r), h·Bᵀ (NT, K = r), dA = dhᵀ·x (TN, M = r), dB = dyᵀ·h (TN, N = r),
//	          dh = dy·B (NN, N = r), dx += dh·A (NN, K = r); the same with in = 1536 (down projection)
//	          or out = 1536 (gate/up projections)
//	attention one head (seq 512, head dim 64): S = Q·Kᵀ (NT), O = P·V and dQ = dS·K (NN),
//	          dV = Pᵀ·dO and dK = dSᵀ·Q (TN)
//	LM head   base-19m's chunked logits and their input gradient (512 rows at a time)
var BenchShapes = []Shape{
	{TransB: true, M: 2048, N: 1536, K: 576},
	{TransB: true, M: 2048, N: 576, K: 1536},
	{TransB: true, M: 2048, N: 576, K: 576},
	{M: 2048, N: 576, K: 1536},
	{M: 2048, N: 1536, K: 576},
	{TransA: true, M: 576, N: 1536, K: 2048},
	{TransA: true, M: 1536, N: 576, K: 2048},
	{TransB: true, M: 2048, N: 49152, K: 576, Huge: true},
	{TransB: true, M: 2048, N: 16, K: 576, Skinny: true},
	{TransB: true, M: 2048, N: 576, K: 16, Skinny: true},
	{TransA: true, M: 16, N: 576, K: 2048, Skinny: true},
	{TransA: true, M: 576, N: 16, K: 2048, Skinny: true},
	{M: 2048, N: 16, K: 576, Skinny: true},
	{M: 2048, N: 576, K: 16, Skinny: true},
	{TransB: true, M: 2048, N: 16, K: 1536, Skinny: true},
	{TransA: true, M: 1536, N: 16, K: 2048, Skinny: true},
	{TransA: true, M: 16, N: 1536, K: 2048, Skinny: true},
	{TransB: true, M: 512, N: 512, K: 64, Skinny: true},
	{M: 512, N: 64, K: 512, Skinny: true},
	{TransA: true, M: 512, N: 64, K: 512, Skinny: true},
	// base-19m (hidden 384, 2 kv heads × 64, intermediate 1024, vocabulary 16384) at 2048 tokens.
	{TransB: true, M: 2048, N: 384, K: 384},
	{TransB: true, M: 2048, N: 128, K: 384},
	{TransB: true, M: 2048, N: 1024, K: 384},
	{TransB: true, M: 2048, N: 384, K: 1024},
	{TransA: true, M: 128, N: 384, K: 2048},
	{TransB: true, M: 2048, N: 16384, K: 384, Huge: true},
	// base-19m's LM head in training, one chunk of 512 target rows: logits = h·Wᵀ (NT) and
	// dh = dlogits·W (NN, K = vocabulary).
	{TransB: true, M: 512, N: 16384, K: 384},
	{M: 512, N: 384, K: 16384},
}
