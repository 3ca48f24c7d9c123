//go:build amd64 && !purego

#include "textflag.h"
#include "exp_amd64.h"

// Exp on 8 lanes (exp.go is the reference): ExpSlice, the shifted exponentials with their sum, and
// the max of a row (softmax).

// func expAVX2(dst, src *float32, n int)
//
// dst[i] = Exp(src[i]) for i < n, n a positive multiple of 8. dst may equal src.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ AX, AX

exploop:
	VMOVUPS (SI)(AX*1), Y0
	EXP8
	VMOVUPS Y3, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  exploop
	VZEROUPPER
	RET

// func expShiftSumAVX2(dst, src *float32, n int, shift float32) float64
//
// dst[i] = Exp(src[i] − shift) for i < n (n a positive multiple of 8; dst may equal src) and
// returns Σ dst[i] accumulated in float64 (two 4-lane float64 accumulators).
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y11
	SHLQ $2, CX
	XORQ AX, AX
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13

esloop:
	VMOVUPS (SI)(AX*1), Y0
	VSUBPS Y11, Y0, Y0
	EXP8
	VMOVUPS Y3, (DI)(AX*1)
	VCVTPS2PD X3, Y14
	VEXTRACTF128 $1, Y3, X15
	VCVTPS2PD X15, Y15
	VADDPD Y14, Y12, Y12
	VADDPD Y15, Y13, Y13
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  esloop
	VADDPD Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPD X13, X12, X12
	VHADDPD X12, X12, X12
	VMOVSD X12, ret+32(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
//
// max of x[0:n], n a positive multiple of 8 (NaNs are not propagated reliably).
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $2, CX
	VMOVUPS (SI), Y0
	MOVQ $32, AX

maxloop:
	CMPQ AX, CX
	JGE  maxdone
	VMAXPS (SI)(AX*1), Y0, Y0
	ADDQ $32, AX
	JMP  maxloop

maxdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET
