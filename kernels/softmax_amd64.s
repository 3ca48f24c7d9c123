//go:build amd64 && !purego

#include "textflag.h"

// Softmax loops (softmax.go is the reference): the backward row dot product and update, and the
// forward normalisation.

// func dotF64AVX2(x, y *float32, n int) float64
//
// Σ x[i]·y[i] for i < n (n a positive multiple of 8), products and sums in float64 (four 4-lane
// accumulators): SoftmaxBackward's Σ y·dy.
TEXT ·dotF64AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DX
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	TESTQ $32, CX
	JZ    dotloop16
	VCVTPS2PD (SI), Y4
	VCVTPS2PD (DX), Y5
	VFMADD231PD Y4, Y5, Y0
	VCVTPS2PD 16(SI), Y6
	VCVTPS2PD 16(DX), Y7
	VFMADD231PD Y6, Y7, Y1
	MOVQ $32, AX

dotloop16:
	CMPQ AX, CX
	JGE  dotdone
	VCVTPS2PD (SI)(AX*1), Y4
	VCVTPS2PD (DX)(AX*1), Y5
	VFMADD231PD Y4, Y5, Y0
	VCVTPS2PD 16(SI)(AX*1), Y6
	VCVTPS2PD 16(DX)(AX*1), Y7
	VFMADD231PD Y6, Y7, Y1
	VCVTPS2PD 32(SI)(AX*1), Y8
	VCVTPS2PD 32(DX)(AX*1), Y9
	VFMADD231PD Y8, Y9, Y2
	VCVTPS2PD 48(SI)(AX*1), Y10
	VCVTPS2PD 48(DX)(AX*1), Y11
	VFMADD231PD Y10, Y11, Y3
	ADDQ $64, AX
	JMP  dotloop16

dotdone:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func softmaxGradAVX2(dx, y, dy *float32, n int, d float32)
//
// dx[i] = y[i]·(dy[i] − d) for i < n (n a positive multiple of 8; dx may equal dy).
TEXT ·softmaxGradAVX2(SB), NOSPLIT, $0-36
	MOVQ dx+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS d+32(FP), Y1
	SHLQ $2, CX
	XORQ AX, AX

sgloop:
	VMOVUPS (DX)(AX*1), Y0
	VSUBPS  Y1, Y0, Y0
	VMULPS  (SI)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     sgloop
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
//
// x[i] *= s for i < n (n a positive multiple of 8).
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	SHLQ $2, CX
	XORQ AX, AX

scloop:
	VMULPS  (SI)(AX*1), Y1, Y0
	VMOVUPS Y0, (SI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     scloop
	VZEROUPPER
	RET
