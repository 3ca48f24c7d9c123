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

// hasAVX2 reports whether the running CPU (and OS) supports the assembly micro-kernel.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if hasAVX2 {
		defaultConfig.kernel, defaultConfig.packed = kernelAVX2, kernelAVX2Packed
		asmKernels = append(asmKernels,
			namedKernel{name: "avx2", k: kernelAVX2},
			namedKernel{name: "avx2packed", k: kernelAVX2Packed, packedOnly: true})
	}
}
