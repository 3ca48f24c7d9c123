//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// kernelBF16AVX512 is the 6×16 bf16 micro-kernel in kernel_bf16_amd64.s (AVX512-BF16 VDPBF16PS,
// two word steps in flight): a packed B panel, A rows with stride rsa words.
//
//go:noescape
func kernelBF16AVX512(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// packRowBF16AVX512 is packRowBF16 in kernel_bf16_amd64.s (VCVTNE2PS2BF16).
//
//go:noescape
func packRowBF16AVX512(d *uint32, s *float32, n int)

// packPairsAVX512 is packPairsBF16 in kernel_bf16_amd64.s (AVX-512F).
//
//go:noescape
func packPairsAVX512(d *uint32, b *uint16, ldb int, kw int)

// hasAVX512BF16 reports whether the running CPU (and OS) has the AVX512-BF16 instructions.
var hasAVX512BF16 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BF16

func init() {
	if hasAVX512BF16 {
		defaultConfig.bf16, defaultConfig.bf16Name = kernelBF16AVX512, "avx512bf16"
		packRowBF16 = packRowBF16AVX512
	}
	if hasAVX512 {
		packPairsBF16 = packPairsAVX512
	}
}
