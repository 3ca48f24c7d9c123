//go:build amd64 && !purego

#include "textflag.h"

// One k step: two rows of B (16 floats) in Y0/Y1, A(r, p) broadcast in Y2/Y3,
// accumulators Y4..Y15 = tile rows 0..5, two ymm per row.
#define STEP \
	PREFETCHT0 (DI)(R11*8); \
	VMOVUPS (DI), Y0; \
	VMOVUPS 32(DI), Y1; \
	VBROADCASTSS (SI), Y2; \
	VFMADD231PS Y2, Y0, Y4; \
	VFMADD231PS Y2, Y1, Y5; \
	VBROADCASTSS (SI)(R9*1), Y3; \
	VFMADD231PS Y3, Y0, Y6; \
	VFMADD231PS Y3, Y1, Y7; \
	VBROADCASTSS (SI)(R9*2), Y2; \
	VFMADD231PS Y2, Y0, Y8; \
	VFMADD231PS Y2, Y1, Y9; \
	VBROADCASTSS (BX), Y3; \
	VFMADD231PS Y3, Y0, Y10; \
	VFMADD231PS Y3, Y1, Y11; \
	VBROADCASTSS (BX)(R9*1), Y2; \
	VFMADD231PS Y2, Y0, Y12; \
	VFMADD231PS Y2, Y1, Y13; \
	VBROADCASTSS (BX)(R9*2), Y3; \
	VFMADD231PS Y3, Y0, Y14; \
	VFMADD231PS Y3, Y1, Y15; \
	ADDQ R10, SI; \
	ADDQ R10, BX; \
	ADDQ R11, DI

// C row = alpha*acc + beta*C (Y0 = alpha, Y1 = beta)
#define ROWBETA(lo, hi) \
	VMULPS (DX), Y1, Y2; \
	VFMADD231PS Y0, lo, Y2; \
	VMOVUPS Y2, (DX); \
	VMULPS 32(DX), Y1, Y3; \
	VFMADD231PS Y0, hi, Y3; \
	VMOVUPS Y3, 32(DX); \
	ADDQ R8, DX

// C row = alpha*acc (C not read)
#define ROWZERO(lo, hi) \
	VMULPS Y0, lo, lo; \
	VMOVUPS lo, (DX); \
	VMULPS Y0, hi, hi; \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

// func kernelAVX2(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
TEXT ·kernelAVX2(SB), NOSPLIT, $0-72
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsa+16(FP), R9
	SHLQ $2, R9
	MOVQ csa+24(FP), R10
	SHLQ $2, R10
	MOVQ b+32(FP), DI
	MOVQ rsb+40(FP), R11
	SHLQ $2, R11
	LEAQ (SI)(R9*2), BX
	ADDQ R9, BX // BX = A row 3

	// Prefetch the C tile (6 rows of 64 bytes, possibly straddling two lines each).
	MOVQ       c+48(FP), DX
	MOVQ       ldc+56(FP), R8
	SHLQ       $2, R8
	PREFETCHT0 (DX)
	PREFETCHT0 60(DX)
	PREFETCHT0 (DX)(R8*1)
	PREFETCHT0 60(DX)(R8*1)
	PREFETCHT0 (DX)(R8*2)
	PREFETCHT0 60(DX)(R8*2)
	LEAQ       (DX)(R8*2), AX
	ADDQ       R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	PREFETCHT0 (AX)(R8*1)
	PREFETCHT0 60(AX)(R8*1)
	PREFETCHT0 (AX)(R8*2)
	PREFETCHT0 60(AX)(R8*2)

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	MOVQ CX, AX
	SHRQ $2, AX
	JZ   tail

loop4:
	STEP
	STEP
	STEP
	STEP
	DECQ AX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	STEP
	DECQ CX
	JNZ  loop1

store:
	MOVQ         c+48(FP), DX
	MOVQ         ldc+56(FP), R8
	SHLQ         $2, R8
	VBROADCASTSS alpha+64(FP), Y0
	MOVL         beta+68(FP), AX
	TESTL        $0x7fffffff, AX
	JZ           storezero
	VBROADCASTSS beta+68(FP), Y1
	ROWBETA(Y4, Y5)
	ROWBETA(Y6, Y7)
	ROWBETA(Y8, Y9)
	ROWBETA(Y10, Y11)
	ROWBETA(Y12, Y13)
	ROWBETA(Y14, Y15)
	VZEROUPPER
	RET

storezero:
	ROWZERO(Y4, Y5)
	ROWZERO(Y6, Y7)
	ROWZERO(Y8, Y9)
	ROWZERO(Y10, Y11)
	ROWZERO(Y12, Y13)
	ROWZERO(Y14, Y15)
	VZEROUPPER
	RET
