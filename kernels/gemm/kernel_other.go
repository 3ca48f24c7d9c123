//go:build !amd64 || purego

package gemm

// hasAVX2 is false: this build has no assembly micro-kernel.
const hasAVX2 = false
