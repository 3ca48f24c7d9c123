package mixer

import "math/rand/v2"

// Global weighs the K blocks of r/K latent dimensions by w = softmax(π), π: (K) learnable
// (lora_global.weight, our name); π starts at 0 (w_k = 1/K):
//
//	z_k = w_k·h_k, w = softmax(π)
//	  ⇒  dh_k = w_k·dz_k    dw_k = Σ_tokens Σ_{j∈k} dz·h    dπ += w ⊙ (dw − (w·dw))   (softmax Jacobian)
type Global struct {
	R, K    int
	Pi, DPi []float32 // (K) block logits and their gradient
	ps      []Param   // Params, built once

	w     []float32 // (K) softmax(π) of the last Forward
	z, dh []float32 // (n, R)
}

func newGlobal(s Shape) Mixer {
	g := &Global{R: s.R, K: s.K, Pi: make([]float32, s.K), DPi: make([]float32, s.K)}
	g.ps = []Param{{Key: "lora_global.weight", W: g.Pi, G: g.DPi, Shape: []int{g.K}}}
	return g
}

func (*Global) Name() string { return GlobalName }

func (g *Global) Forward(h, _ []float32, n int) []float32 {
	r, k := g.R, g.K
	g.w = grow(g.w, k)
	Softmax(g.w, g.Pi)
	g.z = grow(g.z, n*r)
	bs := r / k
	for i := 0; i < n; i++ {
		for j := 0; j < r; j++ {
			g.z[i*r+j] = g.w[j/bs] * h[i*r+j]
		}
	}
	return g.z
}

func (g *Global) Backward(dz, h, _ []float32, n int) ([]float32, Product) {
	r, k := g.R, g.K
	g.dh = grow(g.dh, n*r)
	dh := g.dh
	bs := r / k
	dw := make([]float64, k)
	for i := 0; i < n; i++ {
		for j := 0; j < r; j++ {
			d := dz[i*r+j]
			dh[i*r+j] = g.w[j/bs] * d
			dw[j/bs] += float64(d) * float64(h[i*r+j])
		}
	}
	var wdw float64
	for m := 0; m < k; m++ {
		wdw += float64(g.w[m]) * dw[m]
	}
	for m := 0; m < k; m++ {
		g.DPi[m] += float32(float64(g.w[m]) * (dw[m] - wdw))
	}
	return dh, Product{}
}

// Matrix is blockdiag(w_k·I), w = softmax(π).
func (g *Global) Matrix() ([]float32, bool) {
	r := g.R
	w := make([]float32, g.K)
	Softmax(w, g.Pi)
	m := make([]float32, r*r)
	bs := r / g.K
	for j := 0; j < r; j++ {
		m[j*r+j] = w[j/bs]
	}
	return m, true
}

func (g *Global) Params() []Param { return g.ps }

// Init leaves π at zero: uniform block weights 1/K.
func (g *Global) Init(*rand.Rand) {}
