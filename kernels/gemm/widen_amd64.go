//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// widen8AVX2 sets dst[i] to the float32 of the bfloat16 src[i] for i < n (a positive multiple of
// 8), eight at a time (widen_amd64.s: VPMOVZXWD + VPSLLD).
//
//go:noescape
func widen8AVX2(dst *float32, src *uint16, n int)

// widenF16x8AVX2 sets dst[i] to the float32 of the IEEE half src[i] for i < n (a positive
// multiple of 8), eight at a time (widen_amd64.s: VCVTPH2PS, F16C).
//
//go:noescape
func widenF16x8AVX2(dst *float32, src *uint16, n int)

// scaleQ8x8AVX2 sets dst[i] = d·float32(q[i]) for i < n (a positive multiple of 8), eight at a
// time (widen_amd64.s: VPMOVSXBD, VCVTDQ2PS, VMULPS).
//
//go:noescape
func scaleQ8x8AVX2(dst *float32, q *int8, n int, d float32)

// q8BlocksAVX2 sets dst[32b+i] = f16(d[b·ld/32])·float32(q[b·ld+i]) for b < nb (nb ≥ 1),
// i < 32, ld a multiple of 32 (widen_amd64.s: VCVTPH2PS for the scale, then as scaleQ8x8AVX2).
//
//go:noescape
func q8BlocksAVX2(dst *float32, q *int8, d *uint16, nb int, ld int)

// stripBF16AVX2 and stripF16AVX2 set dst[32p+i] to the float32 of src[p·lds+i] (bfloat16, IEEE
// half) for p < rows (≥ 1), i < 32 (widen_amd64.s).
//
//go:noescape
func stripBF16AVX2(dst *float32, src *uint16, rows int, lds int)

//go:noescape
func stripF16AVX2(dst *float32, src *uint16, rows int, lds int)

func init() {
	if hasAVX2 {
		widen8, stripBF16 = widen8AVX2, stripBF16AVX2
		scaleQ8x8 = scaleQ8x8AVX2
		if cpu.X86.HasF16C {
			widenF16x8, q8Blocks, stripF16 = widenF16x8AVX2, q8BlocksAVX2, stripF16AVX2
		}
	}
}
