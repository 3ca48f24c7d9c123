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

// func q8BlocksAVX2(dst *float32, q *int8, d *uint16, nb int, ld int)
// dst[32b+i] = f16(d[b·ld/32]) · float32(q[b·ld+i]) for b < nb (nb ≥ 1), i < 32 (ld a multiple
// of 32: 32 for consecutive blocks, a row stride for a column strip): each block's scale widened
// by VCVTPH2PS (F16C) and broadcast, its 32 quants by VPMOVSXBD + VCVTDQ2PS (exact), one VMULPS
// each, rounded as the scalar product is.
TEXT ·q8BlocksAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	MOVQ ld+32(FP), R8
	MOVQ R8, R9
	SHRQ $4, R9          // scale stride in bytes: ld/32 scales of 2 bytes
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
	ADDQ         R9, DX
	ADDQ         R8, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          loopblk
	VZEROUPPER
	RET

// func stripBF16AVX2(dst *float32, src *uint16, rows int, lds int)
// dst[32p+i] = the float32 of the bfloat16 src[p·lds+i] for p < rows (≥ 1), i < 32: a 32-column
// strip of a row-major bf16 matrix (VPMOVZXWD + VPSLLD).
TEXT ·stripBF16AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ lds+24(FP), R8
	SHLQ $1, R8
loopsb:
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPMOVZXWD 32(SI), Y2
	VPMOVZXWD 48(SI), Y3
	VPSLLD    $16, Y0, Y0
	VPSLLD    $16, Y1, Y1
	VPSLLD    $16, Y2, Y2
	VPSLLD    $16, Y3, Y3
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, 32(DI)
	VMOVDQU   Y2, 64(DI)
	VMOVDQU   Y3, 96(DI)
	ADDQ      R8, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       loopsb
	VZEROUPPER
	RET

// func stripF16AVX2(dst *float32, src *uint16, rows int, lds int)
// dst[32p+i] = the float32 of the IEEE half src[p·lds+i] for p < rows (≥ 1), i < 32 (VCVTPH2PS).
TEXT ·stripF16AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ lds+24(FP), R8
	SHLQ $1, R8
loopsf:
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VCVTPH2PS 32(SI), Y2
	VCVTPH2PS 48(SI), Y3
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	VMOVUPS   Y2, 64(DI)
	VMOVUPS   Y3, 96(DI)
	ADDQ      R8, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       loopsf
	VZEROUPPER
	RET
