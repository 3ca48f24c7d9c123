//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// kernelAVX2 is the 6×16 micro-kernel in kernel_amd64.s (AVX2 + FMA, 12 ymm accumulators).
//
//go:noescape
func kernelAVX2(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// kernelAVX2Packed is kernelAVX2 restricted to packed panels (rsa = 1, csa = MR, rsb = NR).
//
//go:noescape
func kernelAVX2Packed(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// kernelAVX512 is the same 6×16 tile in kernel_avx512_amd64.s with one zmm per row (AVX-512F),
// two k steps in flight.
//
//go:noescape
func kernelAVX512(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// packA6AVX2 packs n steps (a positive multiple of 8) of six rows of an untransposed A into an A
// panel (pack_amd64.s), writing 2 floats past dst[6n].
//
//go:noescape
func packA6AVX2(dst *float32, a *float32, lda int, n int)

// transpose8AVX2 sets dst[p*ldd + r] = src[r*lds + p] for r < 8, p < n (a positive multiple
// of 8) in pack_amd64.s.
//
//go:noescape
func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, n int)

// hasAVX512 reports whether the running CPU (and OS) supports the AVX-512 micro-kernel.
var hasAVX512 = cpu.X86.HasAVX512F

// hasAVX2 reports whether the running CPU (and OS) supports the assembly micro-kernel.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	dot4, axpy32 := dot4Func(dot4Go), axpy32Func(axpy32Go) // small-m kernels
	if hasAVX2 {
		dot4, axpy32 = dot4AVX2, axpy32AVX2
		packA6, transpose8 = packA6AVX2, transpose8AVX2
	}
	if hasAVX2 {
		kernels = append(kernels, namedKernel{name: "avx2", k: kernelAVX2, packed: kernelAVX2Packed, dot4: dot4AVX2, axpy32: axpy32AVX2})
	}
	if hasAVX512 {
		kernels = append(kernels, namedKernel{name: "avx512", k: kernelAVX512, dot4: dot4, axpy32: axpy32})
	}
	useKernel(&defaultConfig, kernels[len(kernels)-1])
}
