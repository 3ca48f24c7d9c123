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

// func q8BlocksAVX2(dst *float32, q *int8, d *uint16, nb int)
// dst[32b+i] = f16(d[b]) · float32(q[32b+i]) for b < nb (nb ≥ 1), i < 32: each block's scale
// widened by VCVTPH2PS (F16C) and broadcast, its 32 quants by VPMOVSXBD + VCVTDQ2PS (exact),
// one VMULPS each, rounded as the scalar product is.
TEXT ·q8BlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
loopblk:
	MOVWLZX      (DX), AX
	VMOVD        AX, X1
	VCVTPH2PS    X1, X1
	VBROADCASTSS X1, Y1
	VPMOVSXBD    (SI), Y0
	VPMOVSXBD    8(SI), Y2
	VPMOVSXBD    16(SI), Y3
	VPMOVSXBD    24(SI), Y4
	VCVTDQ2PS    Y0, Y0
	VCVTDQ2PS    Y2, Y2
	VCVTDQ2PS    Y3, Y3
	VCVTDQ2PS    Y4, Y4
	VMULPS       Y1, Y0, Y0
	VMULPS       Y1, Y2, Y2
	VMULPS       Y1, Y3, Y3
	VMULPS       Y1, Y4, Y4
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y2, 32(DI)
	VMOVUPS      Y3, 64(DI)
	VMOVUPS      Y4, 96(DI)
	ADDQ         $2, DX
	ADDQ         $32, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          loopblk
	VZEROUPPER
	RET
