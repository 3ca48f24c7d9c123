package mixer

import (
	"math"
	"math/rand/v2"

	"github.com/moslora/moslora/kernels/gemm"
)

// Gated weighs the K blocks of each token's latent row by an input-dependent softmax gate,
// G: (K, In) (lora_gate.weight) and c: (K) (lora_gate.bias), both starting at 0. The gate reads
// the undropped input x. It has no fixed matrix, so it can neither fold nor merge.
//
//	z_{t,k} = g_{t,k}·h_{t,k}, g_t = softmax(ℓ_t), ℓ_t = G·x_t + c
//	  ⇒  dh_{t,k} = g_{t,k}·dz_{t,k}    dg_{t,k} = Σ_{j∈k} dz·h
//	     dℓ_t = g_t ⊙ (dg_t − (g_t·dg_t))
//	     dG += dℓᵀ·x    dc += Σ_t dℓ_t    dx += dℓ·G  (returned as a Product)
type Gated struct {
	R, K, In int
	G, DG    []float32 // (K, In) gate weight and its gradient
	C, DC    []float32 // (K) gate bias and its gradient
	ps       []Param   // Params, built once

	g     []float32 // (n, K) gates of the last Forward
	z, dh []float32 // (n, R)
	dl    []float32 // (n, K) gradient of the gate logits

	usage   []float64 // (K) Σ over counted tokens of the gates
	entropy float64   // Σ over counted tokens of −Σ_k g_k·ln g_k (nats)
	tokens  int       // tokens counted in usage
}

func newGated(s Shape) Mixer {
	q := &Gated{R: s.R, K: s.K, In: s.In,
		G: make([]float32, s.K*s.In), DG: make([]float32, s.K*s.In), C: make([]float32, s.K), DC: make([]float32, s.K)}
	q.ps = []Param{{Key: "lora_gate.weight", W: q.G, G: q.DG, Shape: []int{q.K, q.In}},
		{Key: "lora_gate.bias", W: q.C, G: q.DC, Shape: []int{q.K}}}
	return q
}

func (*Gated) Name() string { return GatedName }

func (q *Gated) Forward(h, x []float32, n int) []float32 {
	return q.forward(h, x, n, softmaxRow)
}

func softmaxRow(row []float32) { Softmax(row, row) }

// forward computes z with the gates route(ℓ_t) of each token's logits (in place in the row):
// softmax here, the top-k routed softmax in TopK.
func (q *Gated) forward(h, x []float32, n int, route func(row []float32)) []float32 {
	r, k, in := q.R, q.K, q.In
	q.g = grow(q.g, n*k)
	gemm.Sgemm(false, true, n, k, in, 1, x, in, q.G, in, 0, q.g, k) // logits = x·Gᵀ
	for i := 0; i < n; i++ {
		row := q.g[i*k : (i+1)*k]
		for m := range row {
			row[m] += q.C[m] // + c
		}
		route(row)
	}
	if q.usage != nil {
		for i := 0; i < n; i++ {
			for m := 0; m < k; m++ {
				g := float64(q.g[i*k+m])
				q.usage[m] += g
				if g > 0 {
					q.entropy -= g * math.Log(g)
				}
			}
		}
		q.tokens += n
	}
	q.z = grow(q.z, n*r)
	bs := r / k
	for i := 0; i < n; i++ {
		for j := 0; j < r; j++ {
			q.z[i*r+j] = q.g[i*k+j/bs] * h[i*r+j]
		}
	}
	return q.z
}

func (q *Gated) Backward(dz, h, x []float32, n int) ([]float32, Product) {
	r, k, in := q.R, q.K, q.In
	q.dh = grow(q.dh, n*r)
	dh := q.dh
	q.dl = grow(q.dl, n*k)
	bs := r / k
	dg := make([]float64, k)
	for i := 0; i < n; i++ {
		clear(dg)
		for j := 0; j < r; j++ {
			d := dz[i*r+j]
			dh[i*r+j] = q.g[i*k+j/bs] * d
			dg[j/bs] += float64(d) * float64(h[i*r+j])
		}
		var gdg float64
		for m := 0; m < k; m++ {
			gdg += float64(q.g[i*k+m]) * dg[m]
		}
		for m := 0; m < k; m++ {
			d := float32(float64(q.g[i*k+m]) * (dg[m] - gdg))
			q.dl[i*k+m] = d
			q.DC[m] += d
		}
	}
	gemm.Sgemm(true, false, k, in, n, 1, q.dl, k, x, in, 1, q.DG, in) // dG += dℓᵀ·x
	return dh, Product{U: q.dl, V: q.G, K: k}                         // dx += dℓ·G
}

// Matrix: none — ΔW depends on the input.
func (*Gated) Matrix() ([]float32, bool) { return nil, false }

func (q *Gated) Params() []Param { return q.ps }

// Init leaves G and c at zero: uniform gates 1/K.
func (*Gated) Init(*rand.Rand) {}

// CountUsage starts (on) or stops counting the gates of every token Forward sees, from zero
// (every row of x, padding included).
func (q *Gated) CountUsage(on bool) {
	q.usage, q.entropy, q.tokens = nil, 0, 0
	if on {
		q.usage = make([]float64, q.K)
	}
}

// Usage returns the mean gate of each subspace over the tokens counted since CountUsage(true)
// (each row sums to 1 over the K subspaces), and how many tokens that is.
func (q *Gated) Usage() (mean []float64, tokens int) {
	mean = make([]float64, q.K)
	if q.tokens == 0 {
		return mean, 0
	}
	for m, u := range q.usage {
		mean[m] = u / float64(q.tokens)
	}
	return mean, q.tokens
}

// Entropy returns the mean over the counted tokens of the gate entropy −Σ_k g_k·ln g_k (nats;
// ln K for uniform gates, 0 for one-hot), and how many tokens that is.
func (q *Gated) Entropy() (float64, int) {
	if q.tokens == 0 {
		return 0, 0
	}
	return q.entropy / float64(q.tokens), q.tokens
}
