//go:build amd64 && !purego

#include "textflag.h"

// func widen8AVX2(dst *float32, src *uint16, n int)
// dst[i] = float32 with bits src[i]<<16 for i < n (a positive multiple of 8).
TEXT ·widen8AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       loop
	VZEROUPPER
	RET

// func widenF16x8AVX2(dst *float32, src *uint16, n int)
// dst[i] = the float32 of the IEEE half src[i] for i < n (a positive multiple of 8): VCVTPH2PS
// (F16C), exact.
TEXT ·widenF16x8AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loopf16:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       loopf16
	VZEROUPPER
	RET

// func scaleQ8x8AVX2(dst *float32, q *int8, n int, d float32)
// dst[i] = d · float32(q[i]) for i < n (a positive multiple of 8): VPMOVSXBD, VCVTDQ2PS (exact)
// and one VMULPS, rounded as the scalar product is.
TEXT ·scaleQ8x8AVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         q+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS d+24(FP), Y1
loopq8:
	VPMOVSXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    Y1, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       loopq8
	VZEROUPPER
	RET
