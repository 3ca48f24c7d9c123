//go:build amd64 && !purego

#include "textflag.h"

// The 6×16 tile with one zmm per row. To keep twelve FMAs in flight, two k steps run at once
// into two accumulator sets (Z4, Z6, …, Z14 for even steps, Z5, Z7, …, Z15 for odd ones) that are
// summed at the end. SI/BX: A rows 0 and 3 at step p, R12/R13: the same at step p+1.
#define PAIR \
	VMOVUPS      (DI), Z0; \
	VMOVUPS      (DI)(R11*1), Z1; \
	VBROADCASTSS (SI), Z2; \
	VFMADD231PS  Z2, Z0, Z4; \
	VBROADCASTSS (R12), Z3; \
	VFMADD231PS  Z3, Z1, Z5; \
	VBROADCASTSS (SI)(R9*1), Z2; \
	VFMADD231PS  Z2, Z0, Z6; \
	VBROADCASTSS (R12)(R9*1), Z3; \
	VFMADD231PS  Z3, Z1, Z7; \
	VBROADCASTSS (SI)(R9*2), Z2; \
	VFMADD231PS  Z2, Z0, Z8; \
	VBROADCASTSS (R12)(R9*2), Z3; \
	VFMADD231PS  Z3, Z1, Z9; \
	VBROADCASTSS (BX), Z2; \
	VFMADD231PS  Z2, Z0, Z10; \
	VBROADCASTSS (R13), Z3; \
	VFMADD231PS  Z3, Z1, Z11; \
	VBROADCASTSS (BX)(R9*1), Z2; \
	VFMADD231PS  Z2, Z0, Z12; \
	VBROADCASTSS (R13)(R9*1), Z3; \
	VFMADD231PS  Z3, Z1, Z13; \
	VBROADCASTSS (BX)(R9*2), Z2; \
	VFMADD231PS  Z2, Z0, Z14; \
	VBROADCASTSS (R13)(R9*2), Z3; \
	VFMADD231PS  Z3, Z1, Z15; \
	ADDQ         R14, SI; \
	ADDQ         R14, BX; \
	ADDQ         R14, R12; \
	ADDQ         R14, R13; \
	ADDQ         R15, DI

// C row = alpha*acc + beta*C (Z0 = alpha, Z1 = beta)
#define ROWBETA512(acc) \
	VMULPS      (DX), Z1, Z2; \
	VFMADD231PS Z0, acc, Z2; \
	VMOVUPS     Z2, (DX); \
	ADDQ        R8, DX

// C row = alpha*acc (C not read)
#define ROWZERO512(acc) \
	VMULPS  Z0, acc, acc; \
	VMOVUPS acc, (DX); \
	ADDQ    R8, DX

// func kernelAVX512(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
TEXT ·kernelAVX512(SB), NOSPLIT, $0-72
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
	ADDQ R9, BX          // BX = A row 3
	LEAQ (SI)(R10*1), R12
	LEAQ (BX)(R10*1), R13
	LEAQ (R10)(R10*1), R14 // two steps of A
	LEAQ (R11)(R11*1), R15 // two steps of B

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

	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

	MOVQ CX, AX
	SHRQ $2, AX
	JZ   tail2

loop4:
	PREFETCHT0 (DI)(R15*4)
	PAIR
	PREFETCHT0 (DI)(R15*4)
	PAIR
	DECQ AX
	JNZ  loop4

tail2:
	TESTQ $2, CX
	JZ    tail1
	PAIR

tail1:
	TESTQ $1, CX
	JZ    reduce
	VMOVUPS      (DI), Z0
	VBROADCASTSS (SI), Z2
	VFMADD231PS  Z2, Z0, Z4
	VBROADCASTSS (SI)(R9*1), Z2
	VFMADD231PS  Z2, Z0, Z6
	VBROADCASTSS (SI)(R9*2), Z2
	VFMADD231PS  Z2, Z0, Z8
	VBROADCASTSS (BX), Z2
	VFMADD231PS  Z2, Z0, Z10
	VBROADCASTSS (BX)(R9*1), Z2
	VFMADD231PS  Z2, Z0, Z12
	VBROADCASTSS (BX)(R9*2), Z2
	VFMADD231PS  Z2, Z0, Z14

reduce:
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z9, Z8, Z8
	VADDPS Z11, Z10, Z10
	VADDPS Z13, Z12, Z12
	VADDPS Z15, Z14, Z14

	VBROADCASTSS alpha+64(FP), Z0
	MOVL         beta+68(FP), AX
	TESTL        $0x7fffffff, AX
	JZ           storezero
	VBROADCASTSS beta+68(FP), Z1
	ROWBETA512(Z4)
	ROWBETA512(Z6)
	ROWBETA512(Z8)
	ROWBETA512(Z10)
	ROWBETA512(Z12)
	ROWBETA512(Z14)
	VZEROUPPER
	RET

storezero:
	ROWZERO512(Z4)
	ROWZERO512(Z6)
	ROWZERO512(Z8)
	ROWZERO512(Z10)
	ROWZERO512(Z12)
	ROWZERO512(Z14)
	VZEROUPPER
	RET

