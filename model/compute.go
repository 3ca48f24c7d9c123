package model

import (
	"fmt"

	"github.com/moslora/moslora/kernels/gemm"
)

// Compute is the arithmetic of the products with the frozen base — the linear layers' x·Wᵀ and
// dy·W, the LM head's h·Wᵀ and dlogits·W — and of attention's products (attention16.go).
type Compute string

const (
	// ComputeF32 multiplies in float32 (the default; exact parity with the reference fixtures).
	ComputeF32 Compute = "f32"
	// ComputeBF16 rounds both operands of those products to bfloat16 (nearest even) and
	// accumulates in float32, as PyTorch's CPU autocast runs linear, bmm and
	// scaled_dot_product_attention (gemm.SgemmBF16Compute: AVX512-BF16 where the CPU has it, a
	// bit-identical emulation elsewhere). Adapter products, norms, attention scores, softmax,
	// the loss and the optimizer stay float32; so does the weight gradient of full fine-tuning.
	ComputeBF16 Compute = "bf16"
)

// Computes lists the accepted values of --compute.
var Computes = []string{"f32", "bf16"}

// ParseCompute reads a --compute value: f32 (also "" and float32) or bf16 (also bfloat16).
func ParseCompute(s string) (Compute, error) {
	switch s {
	case "", "f32", "float32":
		return ComputeF32, nil
	case "bf16", "bfloat16":
		return ComputeBF16, nil
	}
	return "", fmt.Errorf("unknown compute %q (expected f32 or bf16)", s)
}

// Native reports whether c runs at full speed on this CPU: f32 always; bf16 with AVX512-BF16
// (without it the products run a portable emulation: the same results, many times slower).
func (c Compute) Native() bool { return c != ComputeBF16 || gemm.HasBF16() }

// SetCompute sets the arithmetic of the following passes' products with the frozen base and of
// their attention (Forward, Loss, ForwardBackward, ForwardCached, the Batcher): a property of
// each Linear, set here on all of them (an adapter attached later keeps it), of the LM head and
// of attention.
func (m *Model) SetCompute(c Compute) {
	m.compute = c
	for _, l := range m.Linears() {
		l.bf16 = c == ComputeBF16
	}
}

// Compute reports the arithmetic set by SetCompute (ComputeF32 unless set).
func (m *Model) Compute() Compute {
	if m.compute == "" {
		return ComputeF32
	}
	return m.compute
}

// headProduct is a product with the LM head's weight W (V, C) as B (in whatever storage),
// in the model's arithmetic: c = alpha·op(a)·op(W) + beta·c.
func (m *Model) headProduct(transB bool, rows, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	w := m.LMHead
	C := m.Config.HiddenSize
	baseProduct(gemm.Term{TransB: transB, K: k, Alpha: alpha, A: a, Lda: lda, B: w.weights(), Ldb: C, BF16: m.compute == ComputeBF16}, rows, n, beta, c, ldc)
}

// baseProduct computes c (rows, n) = t.Alpha·op(t.A)·op(t.B) + beta·c for a product with a frozen
// weight: float32 arithmetic (whatever the storage of t.B, bit-identical) or, with t.BF16, on
// bfloat16-rounded inputs.
func baseProduct(t gemm.Term, rows, n int, beta float32, c []float32, ldc int) {
	if t.BF16 {
		gemm.SgemmBF16Compute(t.TransA, t.TransB, rows, n, t.K, t.Alpha, t.A, t.Lda, t.B, t.Ldb, beta, c, ldc)
		return
	}
	gemm.SgemmW(t.TransA, t.TransB, rows, n, t.K, t.Alpha, t.A, t.Lda, t.B, t.Ldb, beta, c, ldc)
}
