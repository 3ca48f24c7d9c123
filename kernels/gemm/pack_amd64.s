//go:build amd64 && !purego

#include "textflag.h"

// func packA6AVX2(dst *float32, a *float32, lda int, n int)
//
// Packs n steps (a positive multiple of 8) of MR = 6 rows of an untransposed A (row r at
// a + r·lda) into an A panel: dst[p*6 + r] = a[r*lda + p]. Eight steps at a time: the six rows
// (row 5 twice more, as rows 6 and 7) are transposed 8×8 in registers and each column's 8
// floats are stored at dst + 24·j, the next column overwriting the two spare lanes; so 8 bytes
// past dst[6n] are written too (the caller leaves room).
TEXT ·packA6AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ n+24(FP), CX
	SHLQ $2, R8
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9          // row 3
	SHLQ $2, CX
	XORQ AX, AX

packloop:
	LEAQ (SI)(AX*1), R10
	VMOVUPS (R10), Y0
	VMOVUPS (R10)(R8*1), Y1
	VMOVUPS (R10)(R8*2), Y2
	LEAQ (R9)(AX*1), R11
	VMOVUPS (R11), Y3
	VMOVUPS (R11)(R8*1), Y4
	VMOVUPS (R11)(R8*2), Y5
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y5, Y5, Y14
	VUNPCKHPS Y5, Y5, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 24(DI)
	VMOVUPS Y10, 48(DI)
	VMOVUPS Y11, 72(DI)
	VMOVUPS Y12, 96(DI)
	VMOVUPS Y13, 120(DI)
	VMOVUPS Y14, 144(DI)
	VMOVUPS Y15, 168(DI)
	ADDQ $192, DI
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  packloop
	VZEROUPPER
	RET

// func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, n int)
//
// dst[p*ldd + r] = src[r*lds + p] for r < 8 and p < n (a positive multiple of 8): eight rows of
// src become eight columns of dst, an 8×8 register transpose per 8 steps. Packs the 16 columns
// of a B panel from a transposed B in two halves.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R8
	MOVQ n+32(FP), CX
	SHLQ $2, R8
	SHLQ $2, DX
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9          // row 3
	LEAQ (R9)(R8*2), R10
	ADDQ R8, R10         // row 6
	SHLQ $2, CX
	XORQ AX, AX

trloop:
	LEAQ (SI)(AX*1), R11
	VMOVUPS (R11), Y0
	VMOVUPS (R11)(R8*1), Y1
	VMOVUPS (R11)(R8*2), Y2
	LEAQ (R9)(AX*1), R11
	VMOVUPS (R11), Y3
	VMOVUPS (R11)(R8*1), Y4
	VMOVUPS (R11)(R8*2), Y5
	LEAQ (R10)(AX*1), R11
	VMOVUPS (R11), Y6
	VMOVUPS (R11)(R8*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	ADDQ DX, DI
	VMOVUPS Y9, (DI)
	ADDQ DX, DI
	VMOVUPS Y10, (DI)
	ADDQ DX, DI
	VMOVUPS Y11, (DI)
	ADDQ DX, DI
	VMOVUPS Y12, (DI)
	ADDQ DX, DI
	VMOVUPS Y13, (DI)
	ADDQ DX, DI
	VMOVUPS Y14, (DI)
	ADDQ DX, DI
	VMOVUPS Y15, (DI)
	ADDQ DX, DI
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  trloop
	VZEROUPPER
	RET
