package kernels

import "math"

// LayerNormForward computes, for each of the n rows of x (n, d),
//
//	out = (x − μ)·r ⊙ w + b,   μ = mean(x),  r = 1/sqrt(var(x) + eps)   (biased variance)
//
// as torch.nn.LayerNorm. mean and rstd (n) are saved for the backward pass (nil in inference);
// b may be nil for a LayerNorm without bias.
func LayerNormForward(out, mean, rstd, x, w, b []float32, n, d int, eps float32) {
	checkLen("layernorm out", out, n*d)
	checkLen("layernorm x", x, n*d)
	checkLen("layernorm w", w, d)
	for i := 0; i < n; i++ {
		xr := x[i*d : (i+1)*d]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mu := s / float64(d)
		var ss float64
		for _, v := range xr {
			c := float64(v) - mu
			ss += c * c
		}
		r := float32(1 / math.Sqrt(ss/float64(d)+float64(eps)))
		m := float32(mu)
		if mean != nil {
			mean[i], rstd[i] = m, r
		}
		or := out[i*d : (i+1)*d]
		for j, v := range xr {
			o := (v - m) * r * w[j]
			if b != nil {
				o += b[j]
			}
			or[j] = o
		}
	}
}

// LayerNormBackward inverts LayerNormForward. With x̂ = (x − μ)·r and g = w ⊙ dout:
//
//	dx += r·(g − mean(g) − x̂·mean(g ⊙ x̂))
//	dw += Σ_rows dout ⊙ x̂,   db += Σ_rows dout     (each skipped when nil)
func LayerNormBackward(dx, dw, db, dout, x, w, mean, rstd []float32, n, d int) {
	checkLen("layernorm dx", dx, n*d)
	checkLen("layernorm dout", dout, n*d)
	for i := 0; i < n; i++ {
		xr, gr, dxr := x[i*d:(i+1)*d], dout[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		m, r := mean[i], rstd[i]
		var sg, sgx float64
		for j := range xr {
			g := float64(gr[j] * w[j])
			sg += g
			sgx += g * float64((xr[j]-m)*r)
		}
		mg, mgx := float32(sg/float64(d)), float32(sgx/float64(d))
		for j := range xr {
			xh := (xr[j] - m) * r
			dxr[j] += r * (gr[j]*w[j] - mg - xh*mgx)
			if dw != nil {
				dw[j] += gr[j] * xh
			}
			if db != nil {
				db[j] += gr[j]
			}
		}
	}
}
