package gemm

import (
	"math"

	"github.com/moslora/moslora/safetensors"
)

// Weights is a read-only B operand held in one of four storages; exactly one field is set (all
// empty: a float32 B with no elements). Element i of the storage — the index a float32 B would
// have: p·ldb + j, or j·ldb + p with transB — stands for
//
//	F32[i]                        float32
//	BF16[i]                       bfloat16 bit patterns, widened exactly
//	F16[i]                        IEEE half bit patterns, widened exactly (NaNs made quiet)
//	f16(Q8.D[i/32]) · Q8.Q[i]     GGUF's Q8_0: an int8 times its block's f16 scale, one rounding
//
// The products widen (or dequantise) B while they pack it, so a product with any storage has the
// bits of Sgemm on the float32 values it stands for: the same sums in the same order. Frozen base
// weights can thus stay in 16 or 8 bits (model: --base-dtype).
type Weights struct {
	F32  []float32
	BF16 []uint16
	F16  []uint16
	Q8   Q8

	// off is the element index of element 0 in Q8's blocks (from: a slice of k of a Q8 B);
	// the other storages are sliced instead.
	off int
}

// Q8Block is the number of consecutive elements of a Q8 operand that share one scale.
const Q8Block = 32

// Q8 is GGUF's Q8_0 layout: Q holds int8 quants, D one f16 scale (bit pattern) per block of
// Q8Block consecutive quants, block b covering Q[32b : 32b+32].
type Q8 struct {
	Q []int8
	D []uint16
}

// form is the storage of a Weights.
type form uint8

const (
	formF32 form = iota
	formBF16
	formF16
	formQ8
)

// form reports the storage, panicking (programmer error) when more than one is set or a Q8
// operand lacks scales.
func (w Weights) form() form {
	f, n := formF32, 0
	if w.F32 != nil {
		n++
	}
	if w.BF16 != nil {
		f, n = formBF16, n+1
	}
	if w.F16 != nil {
		f, n = formF16, n+1
	}
	if w.Q8.Q != nil {
		f, n = formQ8, n+1
		if len(w.Q8.D) < (w.off+len(w.Q8.Q)+Q8Block-1)/Q8Block {
			panic("gemm: Q8 weights need one scale per 32 values")
		}
	}
	if n > 1 {
		panic("gemm: Weights with more than one storage set")
	}
	return f
}

// Len is the number of elements.
func (w Weights) Len() int {
	switch w.form() {
	case formBF16:
		return len(w.BF16)
	case formF16:
		return len(w.F16)
	case formQ8:
		return len(w.Q8.Q)
	}
	return len(w.F32)
}

// Bytes is the memory the elements take: 4 bytes each in float32, 2 in bf16 or f16, one and two
// bytes a block of 32 in Q8.
func (w Weights) Bytes() int64 {
	switch w.form() {
	case formBF16:
		return 2 * int64(len(w.BF16))
	case formF16:
		return 2 * int64(len(w.F16))
	case formQ8:
		return int64(len(w.Q8.Q)) + 2*int64((len(w.Q8.Q)+Q8Block-1)/Q8Block)
	}
	return 4 * int64(len(w.F32))
}

// from is w without its first i elements.
func (w Weights) from(i int) Weights {
	switch w.form() {
	case formBF16:
		return Weights{BF16: w.BF16[i:]}
	case formF16:
		return Weights{F16: w.F16[i:]}
	case formQ8:
		return Weights{Q8: Q8{Q: w.Q8.Q[i:], D: w.Q8.D}, off: w.off + i}
	}
	return Weights{F32: w.F32[i:]}
}

// Decode sets dst to the float32 values of elements [i, i+len(dst)): exact for bf16 and f16
// (eight at a time with AVX2 / F16C), f16(scale)·q for Q8, bit for bit what the products use.
func (w Weights) Decode(dst []float32, i int) {
	switch w.form() {
	case formBF16:
		widen(dst, w.BF16[i:i+len(dst)])
	case formF16:
		widenF16(dst, w.F16[i:i+len(dst)])
	case formQ8:
		dequantQ8(dst, w.Q8, w.off, i)
	default:
		copy(dst, w.F32[i:i+len(dst)])
	}
}

// stripBF16 and stripF16 set dst[32p+i] to the float32 of src[p·lds+i] for p < rows (≥ 1),
// i < 32 (a 32-column strip of a bf16 or f16 matrix) in assembly; nil where there is none
// (decodeStrip's Decode per row is their reference).
var stripBF16, stripF16 func(dst *float32, src *uint16, rows int, lds int)

// decodeStrip sets dst[p*32 : p*32+32] to elements [p·ldb + j, p·ldb + j + 32) for p < k: a
// 32-column strip of an untransposed B (the small-m path). One assembly call for a bf16 or f16
// strip, and for a Q8 one whose rows are whole blocks; otherwise a Decode per row.
func (w Weights) decodeStrip(dst []float32, j, ldb, k int) {
	if k > 0 {
		_ = dst[32*k-1]
	}
	switch f := w.form(); {
	case k == 0:
	case f == formBF16 && stripBF16 != nil:
		_ = w.BF16[(k-1)*ldb+j+31] // bounds for the assembly
		stripBF16(&dst[0], &w.BF16[j], k, ldb)
		return
	case f == formF16 && stripF16 != nil:
		_ = w.F16[(k-1)*ldb+j+31]
		stripF16(&dst[0], &w.F16[j], k, ldb)
		return
	case f == formQ8 && q8Blocks != nil && (w.off+j)%Q8Block == 0 && ldb%Q8Block == 0:
		q := w.Q8
		_, _ = q.Q[(k-1)*ldb+j+31], q.D[(w.off+(k-1)*ldb+j)/Q8Block]
		q8Blocks(&dst[0], &q.Q[j], &q.D[(w.off+j)/Q8Block], k, ldb)
		return
	}
	for p := 0; p < k; p++ {
		w.Decode(dst[p*32:p*32+32], p*ldb+j)
	}
}

// at is the float32 value of element i (Decode of one element).
func (w Weights) at(i int) float32 {
	switch {
	case w.F32 != nil:
		return w.F32[i]
	case w.BF16 != nil:
		return BF16ToFloat32(w.BF16[i])
	case w.F16 != nil:
		return f16ToFloat32(w.F16[i])
	}
	return safetensors.F16ToFloat32(w.Q8.D[(w.off+i)/Q8Block]) * float32(w.Q8.Q[i])
}

// widen8 widens n (a positive multiple of 8) bfloat16 values at src into dst; nil where no
// assembly version exists (widen's loop is its reference).
var widen8 func(dst *float32, src *uint16, n int)

// widen sets dst[i] to the float32 value of the bfloat16 src[i] (exact).
func widen(dst []float32, src []uint16) { widenWith(dst, src, widen8, BF16ToFloat32) }

// widenF16x8 widens n (a positive multiple of 8) IEEE half values at src into dst; nil where no
// assembly version exists (widenF16's loop is its reference).
var widenF16x8 func(dst *float32, src *uint16, n int)

// widenF16 sets dst[i] to the float32 value of the IEEE half src[i] (exact).
func widenF16(dst []float32, src []uint16) { widenWith(dst, src, widenF16x8, f16ToFloat32) }

// widenWith sets dst[i] = one(src[i]), whole blocks of 8 by x8 where it is not nil (its assembly
// version), the rest by the loop.
func widenWith(dst []float32, src []uint16, x8 func(dst *float32, src *uint16, n int), one func(uint16) float32) {
	dst = dst[:len(src)]
	i := 0
	if x8 != nil && len(src) >= 8 {
		i = len(src) &^ 7
		x8(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = one(src[i])
	}
}

// f16ToFloat32 widens an IEEE half exactly (safetensors.F16ToFloat32), a NaN made quiet as F16C's
// VCVTPH2PS makes it: the products read the same NaN from a float32 B (their first operation on a
// signalling NaN quiets it).
func f16ToFloat32(h uint16) float32 {
	f := safetensors.F16ToFloat32(h)
	if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
		return math.Float32frombits(math.Float32bits(f) | 1<<22)
	}
	return f
}

// scaleQ8x8 sets dst[i] = d·float32(q[i]) for i < n (a positive multiple of 8); nil where no
// assembly version exists (dequantQ8's loop is its reference).
var scaleQ8x8 func(dst *float32, q *int8, n int, d float32)

// q8Blocks sets dst[32b+i] = f16(d[b·ld/32])·float32(q[b·ld+i]) for nb ≥ 1 whole blocks, ld a
// multiple of 32 (32: consecutive blocks; a row stride: a 32-column strip), in assembly; nil where
// there is none (dequantQ8's loop is its reference).
var q8Blocks func(dst *float32, q *int8, d *uint16, nb int, ld int)

// dequantQ8 sets dst to the values of elements [i, i+len(dst)) of q, whose Q starts at element
// off of its blocks: f16(D[(off+e)/32])·Q[e], the product rounded once.
func dequantQ8(dst []float32, q Q8, off, i int) {
	for len(dst) > 0 {
		b := (off + i) / Q8Block
		if nb := len(dst) / Q8Block; q8Blocks != nil && nb > 0 && (off+i)%Q8Block == 0 {
			// Whole blocks: one call.
			_, _ = q.D[b+nb-1], q.Q[i+nb*Q8Block-1] // bounds for the assembly
			q8Blocks(&dst[0], &q.Q[i], &q.D[b], nb, Q8Block)
			dst, i = dst[nb*Q8Block:], i+nb*Q8Block
			continue
		}
		n := min(len(dst), (b+1)*Q8Block-off-i)
		d := safetensors.F16ToFloat32(q.D[b])
		s := q.Q[i : i+n]
		j := 0
		if scaleQ8x8 != nil && n >= 8 {
			j = n &^ 7
			scaleQ8x8(&dst[0], &s[0], j, d)
		}
		for ; j < n; j++ {
			dst[j] = d * float32(s[j])
		}
		dst, i = dst[n:], i+n
	}
}
