// Shared by the assembly files that evaluate Exp on 8 lanes (exp_amd64.s, swiglu_amd64.s): the
// constants (file-local, so each including file has its own copy) and the EXP8 macro.

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
