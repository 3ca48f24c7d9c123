//go:build amd64 && !purego

#include "textflag.h"

// RMSNorm row loops (rmsnorm.go is the reference).

// func rmsScaleAVX2(out, x, w *float32, n int, r float32)
//
// out[j] = w[j]·(x[j]·r) for j < n (n a positive multiple of 8): RMSNormForward's output loop.
TEXT ·rmsScaleAVX2(SB), NOSPLIT, $0-36
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS r+32(FP), Y1
	SHLQ $2, CX
	XORQ AX, AX

rsloop:
	VMULPS  (SI)(AX*1), Y1, Y0
	VMULPS  (DX)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     rsloop
	VZEROUPPER
	RET

// func rmsBwdDotAVX2(gr, w, x *float32, n int, r float32) float64
//
// Σ float64(g[j]·w[j])·float64(x[j]·r) for j < n (n a positive multiple of 8): the row dot
// product of RMSNormBackward (two 4-lane float64 accumulators).
TEXT ·rmsBwdDotAVX2(SB), NOSPLIT, $0-48
	MOVQ gr+0(FP), R8
	MOVQ w+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSS r+32(FP), Y1
	SHLQ $2, CX
	XORQ AX, AX
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9

rdloop:
	VMOVUPS      (R8)(AX*1), Y2
	VMULPS       (DX)(AX*1), Y2, Y2 // g·w
	VMULPS       (SI)(AX*1), Y1, Y3 // x·r
	VCVTPS2PD    X2, Y4
	VCVTPS2PD    X3, Y5
	VFMADD231PD  Y4, Y5, Y8
	VEXTRACTF128 $1, Y2, X2
	VEXTRACTF128 $1, Y3, X3
	VCVTPS2PD    X2, Y4
	VCVTPS2PD    X3, Y5
	VFMADD231PD  Y4, Y5, Y9
	ADDQ         $32, AX
	CMPQ         AX, CX
	JLT          rdloop
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD       X9, X8, X8
	VHADDPD      X8, X8, X8
	VMOVSD       X8, ret+40(FP)
	VZEROUPPER
	RET

// func rmsBwdRowAVX2(dx, dw, gr, w, x *float32, n int, r, m float32)
//
// With x̂ = x[j]·r: dx[j] += r·(g[j]·w[j] − x̂·m) and, when dw is not nil, dw[j] += g[j]·x̂, for
// j < n (n a positive multiple of 8): the row update of RMSNormBackward.
TEXT ·rmsBwdRowAVX2(SB), NOSPLIT, $0-56
	MOVQ dx+0(FP), DI
	MOVQ dw+8(FP), BX
	MOVQ gr+16(FP), R8
	MOVQ w+24(FP), DX
	MOVQ x+32(FP), SI
	MOVQ n+40(FP), CX
	VBROADCASTSS r+48(FP), Y1
	VBROADCASTSS m+52(FP), Y2
	SHLQ $2, CX
	XORQ AX, AX

rrloop:
	VMULPS  (SI)(AX*1), Y1, Y3 // x̂
	VMOVUPS (R8)(AX*1), Y4     // g
	VMULPS  (DX)(AX*1), Y4, Y5 // g·w
	VMULPS  Y2, Y3, Y6         // x̂·m
	VSUBPS  Y6, Y5, Y5         // g·w − x̂·m
	VMULPS  Y1, Y5, Y5         // r·(…)
	VADDPS  (DI)(AX*1), Y5, Y5
	VMOVUPS Y5, (DI)(AX*1)
	TESTQ   BX, BX
	JZ      rrnext
	VMULPS  Y3, Y4, Y7         // g·x̂
	VADDPS  (BX)(AX*1), Y7, Y7
	VMOVUPS Y7, (BX)(AX*1)

rrnext:
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  rrloop
	VZEROUPPER
	RET
