package kernels

import "math"

// SwiGLUForward computes the gated MLP activation of Llama/Mistral/Qwen2 (hidden_act "silu"):
//
//	h = silu(g) ⊙ u,   silu(g) = g·σ(g)        g, u, h: (n)
func SwiGLUForward(h, g, u []float32, n int) {
	checkLen("swiglu h", h, n)
	v := swigluFwd(h[:n], g[:n], u[:n]) // AVX2 (swiglu_amd64.s) on a multiple of 8; swigluFwdGo is its reference
	swigluFwdGo(h[v:n], g[v:n], u[v:n])
}

// swigluFwdGo is SwiGLUForward in Go: e^(−g) by ExpSlice in chunks, then the products.
func swigluFwdGo(h, g, u []float32) {
	n := len(h)
	var e [256]float32 // e^(−g) of one chunk
	for c := 0; c < n; c += len(e) {
		m := min(len(e), n-c)
		gc, uc, hc, ec := g[c:c+m], u[c:c+m], h[c:c+m], e[:m]
		for i, x := range gc {
			ec[i] = -x
		}
		ExpSlice(ec, ec)
		for i, x := range gc {
			hc[i] = x / (1 + ec[i]) * uc[i]
		}
	}
}

// SwiGLUBackward inverts SwiGLUForward (dg, du are ADDED to):
//
//	du += dh ⊙ silu(g),   dg += dh ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g)))
func SwiGLUBackward(dg, du, dh, g, u []float32, n int) {
	checkLen("swiglu dg", dg, n)
	checkLen("swiglu du", du, n)
	v := swigluBwd(dg[:n], du[:n], dh[:n], g[:n], u[:n]) // AVX2 prefix; swigluBwdGo is its reference
	swigluBwdGo(dg[v:n], du[v:n], dh[v:n], g[v:n], u[v:n])
}

// swigluBwdGo is SwiGLUBackward in Go.
func swigluBwdGo(dg, du, dh, g, u []float32) {
	n := len(dg)
	var e [256]float32 // e^(−g) of one chunk
	for c := 0; c < n; c += len(e) {
		m := min(len(e), n-c)
		gc, uc, dhc, dgc, duc, ec := g[c:c+m], u[c:c+m], dh[c:c+m], dg[c:c+m], du[c:c+m], e[:m]
		for i, x := range gc {
			ec[i] = -x
		}
		ExpSlice(ec, ec)
		for i, x := range gc {
			s := 1 / (1 + ec[i])
			duc[i] += dhc[i] * x * s
			dgc[i] += dhc[i] * uc[i] * s * (1 + x*(1-s))
		}
	}
}

const (
	geluC = 0.7978845608028654 // sqrt(2/π)
	geluK = 0.044715
)

// GELUTanhForward computes GPT-2's "gelu_new" (= "gelu_pytorch_tanh"):
//
//	h = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
func GELUTanhForward(h, x []float32, n int) {
	checkLen("gelu h", h, n)
	for i := 0; i < n; i++ {
		v := float64(x[i])
		h[i] = float32(0.5 * v * (1 + math.Tanh(geluC*(v+geluK*v*v*v))))
	}
}

// GELUTanhBackward inverts GELUTanhForward (dx is ADDED to). With t = tanh(√(2/π)(x + k·x³)):
//
//	dx += dh · (½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3k·x²))
func GELUTanhBackward(dx, dh, x []float32, n int) {
	checkLen("gelu dx", dx, n)
	for i := 0; i < n; i++ {
		v := float64(x[i])
		t := math.Tanh(geluC * (v + geluK*v*v*v))
		dx[i] += dh[i] * float32(0.5*(1+t)+0.5*v*(1-t*t)*geluC*(1+3*geluK*v*v))
	}
}

// GELUErfForward computes the exact GELU ("gelu"): h = ½·x·(1 + erf(x/√2)).
func GELUErfForward(h, x []float32, n int) {
	checkLen("gelu h", h, n)
	for i := 0; i < n; i++ {
		v := float64(x[i])
		h[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
	}
}

// GELUErfBackward inverts GELUErfForward (dx is ADDED to):
//
//	dx += dh · (½(1 + erf(x/√2)) + x·φ(x)),   φ(x) = exp(−x²/2)/√(2π)
func GELUErfBackward(dx, dh, x []float32, n int) {
	checkLen("gelu dx", dx, n)
	for i := 0; i < n; i++ {
		v := float64(x[i])
		dx[i] += dh[i] * float32(0.5*(1+math.Erf(v/math.Sqrt2))+v*math.Exp(-0.5*v*v)/math.Sqrt(2*math.Pi))
	}
}

// GELUTanhGatedForward computes the gated tanh-GELU MLP activation of Gemma ("gelu_pytorch_tanh"
// on the gate): h = gelu_tanh(g) · u, gelu_tanh as in GELUTanhForward.
func GELUTanhGatedForward(h, g, u []float32, n int) {
	checkLen("geglu h", h, n)
	GELUTanhForward(h, g, n)
	for i := 0; i < n; i++ {
		h[i] *= u[i]
	}
}

// GELUTanhGatedBackward inverts GELUTanhGatedForward (dg and du are ADDED to). With
// t = tanh(√(2/π)(g + k·g³)):
//
//	du += dh · gelu_tanh(g)
//	dg += dh · u · (½(1 + t) + ½·g·(1 − t²)·√(2/π)·(1 + 3k·g²))
func GELUTanhGatedBackward(dg, du, dh, g, u []float32, n int) {
	checkLen("geglu dg", dg, n)
	checkLen("geglu du", du, n)
	for i := 0; i < n; i++ {
		v := float64(g[i])
		t := math.Tanh(geluC * (v + geluK*v*v*v))
		du[i] += dh[i] * float32(0.5*v*(1+t))
		dg[i] += dh[i] * u[i] * float32(0.5*(1+t)+0.5*v*(1-t*t)*geluC*(1+3*geluK*v*v))
	}
}
