//go:build amd64 && !purego

#include "textflag.h"

// func dot4AVX2asm(k int, x *float32, w *float32, ldw int, out *float32)
//
// out[r] = Σ_{p<k} x[p]·w[r·ldw + p] for r < 4; k is a positive multiple of 16. Eight ymm
// accumulators (four rows × two 8-float halves of each 16-step) hide the FMA latency.
TEXT ·dot4AVX2asm(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DI
	MOVQ ldw+24(FP), R8
	MOVQ out+32(FP), DX
	SHLQ $2, R8
	LEAQ (DI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	SHLQ $2, CX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

dotloop:
	VMOVUPS (SI)(AX*1), Y8
	VMOVUPS 32(SI)(AX*1), Y9
	VFMADD231PS (DI)(AX*1), Y8, Y0
	VFMADD231PS (R9)(AX*1), Y8, Y1
	VFMADD231PS (R10)(AX*1), Y8, Y2
	VFMADD231PS (R11)(AX*1), Y8, Y3
	VFMADD231PS 32(DI)(AX*1), Y9, Y4
	VFMADD231PS 32(R9)(AX*1), Y9, Y5
	VFMADD231PS 32(R10)(AX*1), Y9, Y6
	VFMADD231PS 32(R11)(AX*1), Y9, Y7
	ADDQ $64, AX
	CMPQ AX, CX
	JLT  dotloop

	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VHADDPS Y1, Y0, Y0 // [r0 r0 r1 r1 | r0 r0 r1 r1] partial sums
	VHADDPS Y3, Y2, Y2 // [r2 r2 r3 r3 | ...]
	VHADDPS Y2, Y0, Y0 // [r0 r1 r2 r3 | r0 r1 r2 r3]
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// func axpy32AVX2asm(k int, a *float32, csa int, b *float32, ldb int, c *float32)
//
// c[j] = Σ_{p<k} a[p·csa]·b[p·ldb + j] for j < 32; k ≥ 1. Two k steps in flight, four ymm
// accumulators each.
TEXT ·axpy32AVX2asm(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ csa+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	MOVQ c+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

axpyloop2:
	CMPQ CX, $2
	JLT  axpytail
	VBROADCASTSS (SI), Y8
	VBROADCASTSS (SI)(R8*1), Y9
	LEAQ (DI)(R9*1), R10
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y8, Y1
	VFMADD231PS 64(DI), Y8, Y2
	VFMADD231PS 96(DI), Y8, Y3
	VFMADD231PS (R10), Y9, Y4
	VFMADD231PS 32(R10), Y9, Y5
	VFMADD231PS 64(R10), Y9, Y6
	VFMADD231PS 96(R10), Y9, Y7
	LEAQ (SI)(R8*2), SI
	LEAQ (R10)(R9*1), DI
	SUBQ $2, CX
	JMP  axpyloop2

axpytail:
	TESTQ CX, CX
	JZ    axpydone
	VBROADCASTSS (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y8, Y1
	VFMADD231PS 64(DI), Y8, Y2
	VFMADD231PS 96(DI), Y8, Y3

axpydone:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VZEROUPPER
	RET
