//go:build amd64 && !purego

#include "textflag.h"
#include "exp_amd64.h"

// SwiGLU forward and backward loops (act.go is the reference).

// func swigluFwdAVX2(h, x, u *float32, n int)
//
// h[i] = g[i] / (1 + Exp(−g[i])) · u[i] for i < n (n a positive multiple of 8): SwiGLUForward's
// loop (act.go, the reference), with EXP8.
TEXT ·swigluFwdAVX2(SB), NOSPLIT, $0-32
	MOVQ h+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ u+16(FP), DX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VMOVUPS expconst<>+352(SB), Y14 // 1
	VXORPS  Y15, Y15, Y15           // 0

swfloop:
	VMOVUPS (SI)(AX*1), Y11
	VSUBPS  Y11, Y15, Y0            // −g
	EXP8
	VADDPS  Y14, Y3, Y3             // 1 + e^−g
	VDIVPS  Y3, Y11, Y3             // g / (1 + e^−g)
	VMULPS  (DX)(AX*1), Y3, Y3      // · u
	VMOVUPS Y3, (DI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     swfloop
	VZEROUPPER
	RET

// func swigluBwdAVX2(dg, du, dh, x, u *float32, n int)
//
// With s = 1 / (1 + Exp(−g)): du += dh·g·s and dg += dh·u·s·(1 + g·(1 − s)) for i < n (n a
// positive multiple of 8): SwiGLUBackward's loop (act.go, the reference).
TEXT ·swigluBwdAVX2(SB), NOSPLIT, $0-48
	MOVQ dg+0(FP), DI
	MOVQ du+8(FP), R8
	MOVQ dh+16(FP), R9
	MOVQ x+24(FP), SI
	MOVQ u+32(FP), DX
	MOVQ n+40(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VMOVUPS expconst<>+352(SB), Y14 // 1
	VXORPS  Y15, Y15, Y15           // 0

swbloop:
	VMOVUPS (SI)(AX*1), Y11         // g
	VSUBPS  Y11, Y15, Y0
	EXP8
	VADDPS  Y14, Y3, Y3
	VDIVPS  Y3, Y14, Y3             // s
	VMOVUPS (R9)(AX*1), Y13         // dh
	VMULPS  Y11, Y13, Y12           // dh·g
	VMULPS  Y3, Y12, Y12            // ·s
	VADDPS  (R8)(AX*1), Y12, Y12
	VMOVUPS Y12, (R8)(AX*1)         // du += dh·g·s
	VSUBPS  Y3, Y14, Y1             // 1 − s
	VMULPS  Y1, Y11, Y1             // g·(1 − s)
	VADDPS  Y14, Y1, Y1             // 1 + g·(1 − s)
	VMULPS  (DX)(AX*1), Y13, Y2     // dh·u
	VMULPS  Y3, Y2, Y2              // ·s
	VMULPS  Y1, Y2, Y2              // ·(1 + g·(1 − s))
	VADDPS  (DI)(AX*1), Y2, Y2
	VMOVUPS Y2, (DI)(AX*1)          // dg += …
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     swbloop
	VZEROUPPER
	RET
