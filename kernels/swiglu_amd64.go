//go:build amd64 && !purego

package kernels

// swigluFwdAVX2 and swigluBwdAVX2 are the loops of SwiGLUForward / SwiGLUBackward in
// swiglu_amd64.s: n a positive multiple of 8.
//
//go:noescape
func swigluFwdAVX2(h, x, u *float32, n int)

//go:noescape
func swigluBwdAVX2(dg, du, dh, x, u *float32, n int)

// swigluFwd runs SwiGLUForward's vector loop on the longest multiple-of-8 prefix and returns its
// length (0 without AVX2).
func swigluFwd(h, g, u []float32) int {
	n8 := vecLen(len(h))
	if n8 == 0 {
		return 0
	}
	_, _ = g[n8-1], u[n8-1]
	swigluFwdAVX2(&h[0], &g[0], &u[0], n8)
	return n8
}

// swigluBwd is swigluFwd for SwiGLUBackward.
func swigluBwd(dg, du, dh, g, u []float32) int {
	n8 := vecLen(len(dg))
	if n8 == 0 {
		return 0
	}
	_, _, _, _ = du[n8-1], dh[n8-1], g[n8-1], u[n8-1]
	swigluBwdAVX2(&dg[0], &du[0], &dh[0], &g[0], &u[0], n8)
	return n8
}
