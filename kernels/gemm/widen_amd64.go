//go:build amd64 && !purego

package gemm

// widen8AVX2 sets dst[i] to the float32 of the bfloat16 src[i] for i < n (a positive multiple of
// 8), eight at a time (widen_amd64.s: VPMOVZXWD + VPSLLD).
//
//go:noescape
func widen8AVX2(dst *float32, src *uint16, n int)

func init() {
	if hasAVX2 {
		widen8 = widen8AVX2
	}
}
