// Package numtest is the one home of numeric comparison in tests: the tolerance of each precision,
// justified once here, and the comparison helpers every test uses. Only _test files import it; it
// is not linked into the binary (go list -deps ./cmd/moslora).
//
// Tolerances are relative to the magnitude of the compared values (logits, activations and
// gradients of the models and fixtures we test are O(1)); a test states which one its claim needs.
package numtest

import "math"

const (
	// F64 bounds float64 results of the same computation in another order (metrics, statistics,
	// schedules): a few float64 roundings of O(1) values, with room.
	F64 = 1e-9
	// F32 bounds float32 results of one layer, kernel or reduction against a float64 reference
	// or another float32 summation order (fused vs separate products, folded vs unfolded, merged
	// vs unmerged): sums of up to a few thousand float32 terms, each rounding by 2⁻²⁴ ≈ 6e-8,
	// stay within 1e-5 of O(1) values.
	F32 = 1e-5
	// F32Model bounds float32 results through a whole model against PyTorch or another order of
	// the same arithmetic (logits, hidden states, adapter gradients): F32 compounded over the
	// layers and the attention and LM-head reductions.
	F32Model = 10 * F32
	// BF16Model bounds results through a whole model computed with bf16 inputs to the products
	// with the frozen base (--compute bf16) against float32 compute (relative L2 of logits and
	// gradients, relative loss): rounding an operand to bfloat16 moves it by up to 2⁻⁹ ≈ 2e-3,
	// a product's two operands by ~4e-3; these errors are independent, so sums over k keep that
	// relative size, and the layers, attention and LM head compound it a few times.
	BF16Model = 3e-2
	// BF16Grad bounds the adapter gradients of the tiny random fixtures under bf16 compute
	// against float32 compute (relative L2 over all of them): a gradient is a difference of
	// back-propagated terms that nearly cancel in these random models, which amplifies the
	// rounding of BF16Model (measured 1–10% on the six families; on base-19m 1.7% with the
	// base products in bf16, 3.3% with attention's products too — the softmax backward,
	// dP − rowsum(P⊙dP), cancels as well).
	BF16Grad = 0.15
	// FiniteDiff bounds a central finite difference of a float32 loss against its gradient:
	// the step (~1e-3) leaves curvature and float32 loss noise of ~1e-4 relative.
	FiniteDiff = 1e-3
)

// MaxAbsDiff returns max_i |got[i] − want[i]| (NaN when a value is NaN; len(got) ≥ len(want)).
func MaxAbsDiff(got, want []float32) float64 {
	var worst float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.NaN()
		}
		worst = math.Max(worst, d)
	}
	return worst
}

// SameBits reports whether got and want hold the same float32 bit patterns (same length): the
// claim of a computation that must not depend on what runs beside it (batch invariance), where no
// tolerance applies.
func SameBits(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return false
		}
	}
	return true
}

// MaxAbsDiff64 is MaxAbsDiff against a float64 reference.
func MaxAbsDiff64(got []float32, want []float64) float64 {
	var worst float64
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) {
			return math.NaN()
		}
		worst = math.Max(worst, d)
	}
	return worst
}

// MaxAbs returns max_i |v[i]|, the scale a maximum difference is read against.
func MaxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// RelL2 returns ‖got − want‖₂ / max(‖want‖₂, 1e-12) (NaN when a value is NaN).
func RelL2(got, want []float32) float64 {
	var d, w float64
	for i := range want {
		e := float64(got[i]) - float64(want[i])
		d += e * e
		w += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(d) / math.Max(math.Sqrt(w), 1e-12)
}

// RelL264 is RelL2 against a float64 reference.
func RelL264(got []float32, want []float64) float64 {
	var d, w float64
	for i := range want {
		e := float64(got[i]) - want[i]
		d += e * e
		w += want[i] * want[i]
	}
	return math.Sqrt(d) / math.Max(math.Sqrt(w), 1e-12)
}
