package kernels

import "math"

// RMSNormForward computes, for each of the n rows of x (n, d),
//
//	out = w ⊙ x · r,   r = 1/sqrt(mean(x²) + eps)
//
// as transformers' LlamaRMSNorm / Qwen2RMSNorm do in float32. rstd (n) receives r for the
// backward pass (it may be nil in inference).
func RMSNormForward(out, rstd, x, w []float32, n, d int, eps float32) {
	checkLen("rmsnorm out", out, n*d)
	checkLen("rmsnorm x", x, n*d)
	checkLen("rmsnorm w", w, d)
	for i := 0; i < n; i++ {
		xr := x[i*d : (i+1)*d]
		ss, j0 := dotF64(xr, xr) // vector prefix where the CPU has one (softmax_amd64.s), then the rest
		for _, v := range xr[j0:] {
			ss += float64(v) * float64(v)
		}
		r := float32(1 / math.Sqrt(float64(float32(ss/float64(d))+eps)))
		if rstd != nil {
			rstd[i] = r
		}
		or := out[i*d : (i+1)*d]
		for j := rmsScale(or, xr, w, r); j < d; j++ {
			or[j] = w[j] * (xr[j] * r)
		}
	}
}

// RMSNormBackward inverts RMSNormForward. With g = w ⊙ dout and x̂ = x·r:
//
//	dx += r·(g − x̂ · mean(g ⊙ x̂))       (since dr/dx = −r³·x/d)
//	dw += Σ_rows dout ⊙ x̂              (skipped when dw is nil)
func RMSNormBackward(dx, dw, dout, x, w, rstd []float32, n, d int) {
	checkLen("rmsnorm dx", dx, n*d)
	checkLen("rmsnorm dout", dout, n*d)
	for i := 0; i < n; i++ {
		xr, gr, dxr := x[i*d:(i+1)*d], dout[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		r := rstd[i]
		dot, j0 := rmsBwdDot(gr, w, xr, r) // vector prefixes where the CPU has them, then the rest
		for j := j0; j < d; j++ {
			dot += float64(gr[j]*w[j]) * float64(xr[j]*r)
		}
		m := float32(dot / float64(d))
		for j := rmsBwdRow(dxr, dw, gr, w, xr, r, m); j < d; j++ {
			xh := xr[j] * r
			dxr[j] += r * (gr[j]*w[j] - xh*m)
			if dw != nil {
				dw[j] += gr[j] * xh
			}
		}
	}
}

// RMSNormOffsetForward is RMSNormForward with the weight (off + w), as Gemma's RMSNorm computes
// it in float32 (off = 1, the checkpoint storing w around zero):
//
//	out = x·r ⊙ (off + w),   r = 1/sqrt(mean(x²) + eps)
//
// rstd (n) receives r for the backward pass (it may be nil in inference). It is the plain loop
// RMSNormForward's vector path is checked against; Gemma's norms are few and narrow.
func RMSNormOffsetForward(out, rstd, x, w []float32, off float32, n, d int, eps float32) {
	checkLen("rmsnorm out", out, n*d)
	checkLen("rmsnorm x", x, n*d)
	checkLen("rmsnorm w", w, d)
	for i := 0; i < n; i++ {
		xr := x[i*d : (i+1)*d]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		r := float32(1 / math.Sqrt(float64(float32(ss/float64(d))+eps)))
		if rstd != nil {
			rstd[i] = r
		}
		or := out[i*d : (i+1)*d]
		for j, v := range xr {
			or[j] = (v * r) * (off + w[j])
		}
	}
}

// RMSNormOffsetBackward inverts RMSNormOffsetForward. With g = (off + w) ⊙ dout and x̂ = x·r:
//
//	dx += r·(g − x̂ · mean(g ⊙ x̂))       (since dr/dx = −r³·x/d)
//	dw += Σ_rows dout ⊙ x̂              (d(off + w)/dw = 1; skipped when dw is nil)
func RMSNormOffsetBackward(dx, dw, dout, x, w []float32, off float32, rstd []float32, n, d int) {
	checkLen("rmsnorm dx", dx, n*d)
	checkLen("rmsnorm dout", dout, n*d)
	for i := 0; i < n; i++ {
		xr, gr, dxr := x[i*d:(i+1)*d], dout[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		r := rstd[i]
		var dot float64
		for j := range xr {
			dot += float64(gr[j]*(off+w[j])) * float64(xr[j]*r)
		}
		m := float32(dot / float64(d))
		for j := range xr {
			xh := xr[j] * r
			dxr[j] += r * (gr[j]*(off+w[j]) - xh*m)
			if dw != nil {
				dw[j] += gr[j] * xh
			}
		}
	}
}
