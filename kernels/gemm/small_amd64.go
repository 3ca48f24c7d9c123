//go:build amd64 && !purego

package gemm

// dot4AVX2asm is dot4 in small_amd64.s for k a positive multiple of 16.
//
//go:noescape
func dot4AVX2asm(k int, x *float32, w *float32, ldw int, out *float32)

// axpy32AVX2asm is axpy32 in small_amd64.s (k ≥ 1).
//
//go:noescape
func axpy32AVX2asm(k int, a *float32, csa int, b *float32, ldb int, c *float32)

// dot4AVX2 is dot4 with the assembly loop over the first k&^15 elements and a scalar tail.
func dot4AVX2(k int, x, w []float32, ldw int, out *[4]float32) {
	x, w = x[:k], w[:3*ldw+k] // bounds for the assembly
	k16 := k &^ 15
	if k16 > 0 {
		dot4AVX2asm(k16, &x[0], &w[0], ldw, &out[0])
	} else {
		*out = [4]float32{}
	}
	for p := k16; p < k; p++ {
		xv := x[p]
		out[0] += xv * w[p]
		out[1] += xv * w[ldw+p]
		out[2] += xv * w[2*ldw+p]
		out[3] += xv * w[3*ldw+p]
	}
}

// axpy32AVX2 is axpy32 in assembly.
func axpy32AVX2(k int, a []float32, csa int, b []float32, ldb int, c []float32) {
	if k == 0 {
		clear(c[:32])
		return
	}
	_, _, _ = a[(k-1)*csa], b[(k-1)*ldb+31], c[31] // bounds for the assembly
	axpy32AVX2asm(k, &a[0], csa, &b[0], ldb, &c[0])
}
