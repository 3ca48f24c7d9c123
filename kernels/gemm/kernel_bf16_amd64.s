//go:build amd64 && !purego

#include "textflag.h"

// The Go assembler (1.26) has no AVX512-BF16 mnemonics, so the two instructions are spelled out as
// their EVEX encodings (checked against GNU as / objdump; the operands are fixed):
//
//	DPxx:  VDPBF16PS zmm(acc), zmm(B row), dword ptr [RSI + disp]{1to16}
//	       acc.f32[j] += A.bf16[1]·B.bf16[2j+1], then += A.bf16[0]·B.bf16[2j]  (A: the broadcast word)
//	CVT:   VCVTNE2PS2BF16 zmm2, zmm1, zmm0   Z2 = bf16 of (Z0's 16 floats, then Z1's)

// Even word steps (set 0: Z4, Z6, …, Z14) read B from Z0 and the A word of rows 0–5 at SI, SI+R9,
// SI+2·R9, BX = SI+3·R9, BX+R9, BX+2·R9; odd ones (set 1: Z5, Z7, …, Z15) read B from Z1 and the
// next A word (+4 bytes).
#define DP4 BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x58; BYTE $0x52; BYTE $0x26 // Z4  += Z0·bcst (SI)
#define DP6 BYTE $0x62; BYTE $0xb2; BYTE $0x7e; BYTE $0x58; BYTE $0x52; BYTE $0x34; BYTE $0x0e // Z6  += Z0·bcst (SI)(R9*1)
#define DP8 BYTE $0x62; BYTE $0x32; BYTE $0x7e; BYTE $0x58; BYTE $0x52; BYTE $0x04; BYTE $0x4e // Z8  += Z0·bcst (SI)(R9*2)
#define DP10 BYTE $0x62; BYTE $0x72; BYTE $0x7e; BYTE $0x58; BYTE $0x52; BYTE $0x13 // Z10 += Z0·bcst (BX)
#define DP12 BYTE $0x62; BYTE $0x32; BYTE $0x7e; BYTE $0x58; BYTE $0x52; BYTE $0x24; BYTE $0x0b // Z12 += Z0·bcst (BX)(R9*1)
#define DP14 BYTE $0x62; BYTE $0x32; BYTE $0x7e; BYTE $0x58; BYTE $0x52; BYTE $0x34; BYTE $0x4b // Z14 += Z0·bcst (BX)(R9*2)
#define DP5 BYTE $0x62; BYTE $0xf2; BYTE $0x76; BYTE $0x58; BYTE $0x52; BYTE $0x6e; BYTE $0x01 // Z5  += Z1·bcst 4(SI)
#define DP7 BYTE $0x62; BYTE $0xb2; BYTE $0x76; BYTE $0x58; BYTE $0x52; BYTE $0x7c; BYTE $0x0e; BYTE $0x01 // Z7  += Z1·bcst 4(SI)(R9*1)
#define DP9 BYTE $0x62; BYTE $0x32; BYTE $0x76; BYTE $0x58; BYTE $0x52; BYTE $0x4c; BYTE $0x4e; BYTE $0x01 // Z9  += Z1·bcst 4(SI)(R9*2)
#define DP11 BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x58; BYTE $0x52; BYTE $0x5b; BYTE $0x01 // Z11 += Z1·bcst 4(BX)
#define DP13 BYTE $0x62; BYTE $0x32; BYTE $0x76; BYTE $0x58; BYTE $0x52; BYTE $0x6c; BYTE $0x0b; BYTE $0x01 // Z13 += Z1·bcst 4(BX)(R9*1)
#define DP15 BYTE $0x62; BYTE $0x32; BYTE $0x76; BYTE $0x58; BYTE $0x52; BYTE $0x7c; BYTE $0x4b; BYTE $0x01 // Z15 += Z1·bcst 4(BX)(R9*2)
#define CVT  BYTE $0x62; BYTE $0xf2; BYTE $0x77; BYTE $0x48; BYTE $0x72; BYTE $0xd0

// Two word steps (four steps of k): twelve independent VDPBF16PS, then the next A words (8 bytes
// on in each row) and B (2·NR words).
#define PAIR \
	VMOVUPS (DI), Z0; \
	VMOVUPS 64(DI), Z1; \
	DP4; \
	DP5; \
	DP6; \
	DP7; \
	DP8; \
	DP9; \
	DP10; \
	DP11; \
	DP12; \
	DP13; \
	DP14; \
	DP15; \
	ADDQ $8, SI; \
	ADDQ $8, BX; \
	ADDQ $128, DI

// C row = alpha*acc + beta*C, each product rounded (Z0 = alpha, Z1 = beta)
#define ROWBETA(acc) \
	VMULPS  Z0, acc, acc; \
	VMULPS  (DX), Z1, Z2; \
	VADDPS  Z2, acc, acc; \
	VMOVUPS acc, (DX); \
	ADDQ    R8, DX

// C row = alpha*acc (C not read)
#define ROWZERO(acc) \
	VMULPS  Z0, acc, acc; \
	VMOVUPS acc, (DX); \
	ADDQ    R8, DX

// func kernelBF16AVX512(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
// The 6×16 tile on a packed bf16 B panel (rsb ignored: NR words) and A words at a[r*rsa + q]
// (csa ignored: 1), kc word steps, even steps into set 0 and odd ones into set 1, summed at the
// end (kernelBF16Go is its reference).
TEXT ·kernelBF16AVX512(SB), NOSPLIT, $0-72
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsa+16(FP), R9
	SHLQ $2, R9
	LEAQ (SI)(R9*2), BX
	ADDQ R9, BX          // BX = A row 3
	MOVQ b+32(FP), DI

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
	PREFETCHT0 512(DI)
	PAIR
	PREFETCHT0 512(DI)
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
	VMOVUPS (DI), Z0
	DP4
	DP6
	DP8
	DP10
	DP12
	DP14

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
	ROWBETA(Z4)
	ROWBETA(Z6)
	ROWBETA(Z8)
	ROWBETA(Z10)
	ROWBETA(Z12)
	ROWBETA(Z14)
	VZEROUPPER
	RET

storezero:
	ROWZERO(Z4)
	ROWZERO(Z6)
	ROWZERO(Z8)
	ROWZERO(Z10)
	ROWZERO(Z12)
	ROWZERO(Z14)
	VZEROUPPER
	RET

// func packRowBF16AVX512(d *uint32, s *float32, n int)
// d[q] = bf16(s[2q]) | bf16(s[2q+1])<<16 for q < n/2 (n a positive multiple of 32): 32 floats
// rounded by one CVT and stored as they come.
TEXT ·packRowBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $5, CX

packloop:
	VMOVUPS   (SI), Z0
	VMOVUPS   64(SI), Z1
	CVT
	VMOVDQU32 Z2, (DI)
	ADDQ      $128, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       packloop
	VZEROUPPER
	RET

// func packPairsAVX512(d *uint32, b *uint16, ldb int, kw int)
// d[q*16 + j] = b[2q*ldb + j] | b[(2q+1)*ldb + j]<<16 for q < kw (≥ 1), j < 16: two rows of 16
// bf16 values zero-extended to 32 bits, the second shifted up, or-ed.
TEXT ·packPairsAVX512(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $1, R8          // bytes per row
	LEAQ (R8)(R8*1), R9  // two rows
	MOVQ kw+24(FP), CX

pairloop:
	VPMOVZXWD (SI), Z0
	VPMOVZXWD (SI)(R8*1), Z1
	VPSLLD    $16, Z1, Z1
	VPORD     Z1, Z0, Z0
	VMOVDQU32 Z0, (DI)
	ADDQ      R9, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       pairloop
	VZEROUPPER
	RET
