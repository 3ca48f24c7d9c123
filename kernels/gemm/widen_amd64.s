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
