//go:build amd64 && !purego

#include "textflag.h"

// Constants of Exp (exp.go), each repeated in the 8 lanes of a ymm: hi, lo (the overflow and
// underflow bounds), log2(e), ln2 split in hi and lo parts, the six polynomial coefficients,
// 1.0, the exponent bias 127 (int32) and +Inf.
DATA expconst<>+0(SB)/4, $0x42b17217
DATA expconst<>+4(SB)/4, $0x42b17217
DATA expconst<>+8(SB)/4, $0x42b17217
DATA expconst<>+12(SB)/4, $0x42b17217
DATA expconst<>+16(SB)/4, $0x42b17217
DATA expconst<>+20(SB)/4, $0x42b17217
DATA expconst<>+24(SB)/4, $0x42b17217
DATA expconst<>+28(SB)/4, $0x42b17217
DATA expconst<>+32(SB)/4, $0xc2aeac4f
DATA expconst<>+36(SB)/4, $0xc2aeac4f
DATA expconst<>+40(SB)/4, $0xc2aeac4f
DATA expconst<>+44(SB)/4, $0xc2aeac4f
DATA expconst<>+48(SB)/4, $0xc2aeac4f
DATA expconst<>+52(SB)/4, $0xc2aeac4f
DATA expconst<>+56(SB)/4, $0xc2aeac4f
DATA expconst<>+60(SB)/4, $0xc2aeac4f
DATA expconst<>+64(SB)/4, $0x3fb8aa3b
DATA expconst<>+68(SB)/4, $0x3fb8aa3b
DATA expconst<>+72(SB)/4, $0x3fb8aa3b
DATA expconst<>+76(SB)/4, $0x3fb8aa3b
DATA expconst<>+80(SB)/4, $0x3fb8aa3b
DATA expconst<>+84(SB)/4, $0x3fb8aa3b
DATA expconst<>+88(SB)/4, $0x3fb8aa3b
DATA expconst<>+92(SB)/4, $0x3fb8aa3b
DATA expconst<>+96(SB)/4, $0x3f318000
DATA expconst<>+100(SB)/4, $0x3f318000
DATA expconst<>+104(SB)/4, $0x3f318000
DATA expconst<>+108(SB)/4, $0x3f318000
DATA expconst<>+112(SB)/4, $0x3f318000
DATA expconst<>+116(SB)/4, $0x3f318000
DATA expconst<>+120(SB)/4, $0x3f318000
DATA expconst<>+124(SB)/4, $0x3f318000
DATA expconst<>+128(SB)/4, $0xb95e8083
DATA expconst<>+132(SB)/4, $0xb95e8083
DATA expconst<>+136(SB)/4, $0xb95e8083
DATA expconst<>+140(SB)/4, $0xb95e8083
DATA expconst<>+144(SB)/4, $0xb95e8083
DATA expconst<>+148(SB)/4, $0xb95e8083
DATA expconst<>+152(SB)/4, $0xb95e8083
DATA expconst<>+156(SB)/4, $0xb95e8083
DATA expconst<>+160(SB)/4, $0x39506967
DATA expconst<>+164(SB)/4, $0x39506967
DATA expconst<>+168(SB)/4, $0x39506967
DATA expconst<>+172(SB)/4, $0x39506967
DATA expconst<>+176(SB)/4, $0x39506967
DATA expconst<>+180(SB)/4, $0x39506967
DATA expconst<>+184(SB)/4, $0x39506967
DATA expconst<>+188(SB)/4, $0x39506967
DATA expconst<>+192(SB)/4, $0x3ab743ce
DATA expconst<>+196(SB)/4, $0x3ab743ce
DATA expconst<>+200(SB)/4, $0x3ab743ce
DATA expconst<>+204(SB)/4, $0x3ab743ce
DATA expconst<>+208(SB)/4, $0x3ab743ce
DATA expconst<>+212(SB)/4, $0x3ab743ce
DATA expconst<>+216(SB)/4, $0x3ab743ce
DATA expconst<>+220(SB)/4, $0x3ab743ce
DATA expconst<>+224(SB)/4, $0x3c088908
DATA expconst<>+228(SB)/4, $0x3c088908
DATA expconst<>+232(SB)/4, $0x3c088908
DATA expconst<>+236(SB)/4, $0x3c088908
DATA expconst<>+240(SB)/4, $0x3c088908
DATA expconst<>+244(SB)/4, $0x3c088908
DATA expconst<>+248(SB)/4, $0x3c088908
DATA expconst<>+252(SB)/4, $0x3c088908
DATA expconst<>+256(SB)/4, $0x3d2aa9c1
DATA expconst<>+260(SB)/4, $0x3d2aa9c1
DATA expconst<>+264(SB)/4, $0x3d2aa9c1
DATA expconst<>+268(SB)/4, $0x3d2aa9c1
DATA expconst<>+272(SB)/4, $0x3d2aa9c1
DATA expconst<>+276(SB)/4, $0x3d2aa9c1
DATA expconst<>+280(SB)/4, $0x3d2aa9c1
DATA expconst<>+284(SB)/4, $0x3d2aa9c1
DATA expconst<>+288(SB)/4, $0x3e2aaaaa
DATA expconst<>+292(SB)/4, $0x3e2aaaaa
DATA expconst<>+296(SB)/4, $0x3e2aaaaa
DATA expconst<>+300(SB)/4, $0x3e2aaaaa
DATA expconst<>+304(SB)/4, $0x3e2aaaaa
DATA expconst<>+308(SB)/4, $0x3e2aaaaa
DATA expconst<>+312(SB)/4, $0x3e2aaaaa
DATA expconst<>+316(SB)/4, $0x3e2aaaaa
DATA expconst<>+320(SB)/4, $0x3f000000
DATA expconst<>+324(SB)/4, $0x3f000000
DATA expconst<>+328(SB)/4, $0x3f000000
DATA expconst<>+332(SB)/4, $0x3f000000
DATA expconst<>+336(SB)/4, $0x3f000000
DATA expconst<>+340(SB)/4, $0x3f000000
DATA expconst<>+344(SB)/4, $0x3f000000
DATA expconst<>+348(SB)/4, $0x3f000000
DATA expconst<>+352(SB)/4, $0x3f800000
DATA expconst<>+356(SB)/4, $0x3f800000
DATA expconst<>+360(SB)/4, $0x3f800000
DATA expconst<>+364(SB)/4, $0x3f800000
DATA expconst<>+368(SB)/4, $0x3f800000
DATA expconst<>+372(SB)/4, $0x3f800000
DATA expconst<>+376(SB)/4, $0x3f800000
DATA expconst<>+380(SB)/4, $0x3f800000
DATA expconst<>+384(SB)/4, $0x0000007f
DATA expconst<>+388(SB)/4, $0x0000007f
DATA expconst<>+392(SB)/4, $0x0000007f
DATA expconst<>+396(SB)/4, $0x0000007f
DATA expconst<>+400(SB)/4, $0x0000007f
DATA expconst<>+404(SB)/4, $0x0000007f
DATA expconst<>+408(SB)/4, $0x0000007f
DATA expconst<>+412(SB)/4, $0x0000007f
DATA expconst<>+416(SB)/4, $0x7f800000
DATA expconst<>+420(SB)/4, $0x7f800000
DATA expconst<>+424(SB)/4, $0x7f800000
DATA expconst<>+428(SB)/4, $0x7f800000
DATA expconst<>+432(SB)/4, $0x7f800000
DATA expconst<>+436(SB)/4, $0x7f800000
DATA expconst<>+440(SB)/4, $0x7f800000
DATA expconst<>+444(SB)/4, $0x7f800000
GLOBL expconst<>(SB), RODATA|NOPTR, $448

// EXP8 sets Y3 = Exp(Y0) on 8 lanes (clobbers Y1, Y2, Y4..Y10), the algorithm of Exp with FMA:
// n = round(x·log2 e) (to nearest even where Exp rounds half away: |r| ≤ ln2/2 still),
// r = x − n·ln2hi − n·ln2lo, eʳ ≈ 1 + r + r²·p(r), times 2ⁿ built as 2^(n>>1)·2^(n−n>>1) so that
// n = 128 and n = −126 need no special case. x > hi gives +Inf, x < lo gives 0, NaN gives NaN.
#define EXP8 \
	VMINPS expconst<>+0(SB), Y0, Y1; \
	VMAXPS expconst<>+32(SB), Y1, Y1; \
	VMULPS expconst<>+64(SB), Y1, Y2; \
	VROUNDPS $0, Y2, Y2; \
	VFNMADD231PS expconst<>+96(SB), Y2, Y1; \
	VFNMADD231PS expconst<>+128(SB), Y2, Y1; \
	VMOVUPS expconst<>+160(SB), Y3; \
	VFMADD213PS expconst<>+192(SB), Y1, Y3; \
	VFMADD213PS expconst<>+224(SB), Y1, Y3; \
	VFMADD213PS expconst<>+256(SB), Y1, Y3; \
	VFMADD213PS expconst<>+288(SB), Y1, Y3; \
	VFMADD213PS expconst<>+320(SB), Y1, Y3; \
	VMULPS Y1, Y1, Y4; \
	VFMADD213PS Y1, Y4, Y3; \
	VADDPS expconst<>+352(SB), Y3, Y3; \
	VCVTPS2DQ Y2, Y5; \
	VPSRAD $1, Y5, Y6; \
	VPSUBD Y6, Y5, Y5; \
	VPADDD expconst<>+384(SB), Y6, Y6; \
	VPADDD expconst<>+384(SB), Y5, Y5; \
	VPSLLD $23, Y6, Y6; \
	VPSLLD $23, Y5, Y5; \
	VMULPS Y6, Y3, Y3; \
	VMULPS Y5, Y3, Y3; \
	VMOVUPS expconst<>+0(SB), Y7; \
	VCMPPS $0x1e, Y7, Y0, Y8; \
	VBLENDVPS Y8, expconst<>+416(SB), Y3, Y3; \
	VMOVUPS expconst<>+32(SB), Y7; \
	VCMPPS $0x11, Y7, Y0, Y9; \
	VANDNPS Y3, Y9, Y3; \
	VCMPPS $3, Y0, Y0, Y10; \
	VBLENDVPS Y10, Y0, Y3, Y3;

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
