package kernels

import (
	"fmt"
	"math"
)

// AdamWConfig holds torch.optim.AdamW's hyper-parameters (torch defaults: lr 1e-3, betas
// (0.9, 0.999), eps 1e-8, weight_decay 1e-2).
type AdamWConfig struct {
	LR          float64 // learning rate
	Beta1       float64 // first-moment decay
	Beta2       float64 // second-moment decay
	Eps         float64 // added to √v̂
	WeightDecay float64 // decoupled decay: p -= lr·wd·p
}

// DefaultAdamW returns torch.optim.AdamW's defaults.
func DefaultAdamW() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2}
}

// AdamWState is the optimizer state of one parameter tensor.
type AdamWState struct {
	M, V []float32 // first and second moments, same length as the parameter
	Step int       // number of updates applied
}

// NewAdamWState returns zeroed state for a parameter of n elements.
func NewAdamWState(n int) *AdamWState {
	return &AdamWState{M: make([]float32, n), V: make([]float32, n)}
}

// AdamWStep applies one torch.optim.AdamW update (non-amsgrad, non-maximize) to p given its
// gradient g, in torch's order:
//
//	step += 1
//	p   *= 1 − lr·wd                       (decoupled weight decay, before the Adam update)
//	m    = m + (1 − β1)·(g − m)            (torch's lerp)
//	v    = β2·v + (1 − β2)·g²
//	bc1  = 1 − β1^step,  bc2 = 1 − β2^step (float64, as torch computes them in Python)
//	p   -= (lr/bc1) · m / (√v/√bc2 + eps)
//
// Element arithmetic is float32 like torch's kernels; scalars are float64 rounded once.
func AdamWStep(p, g []float32, s *AdamWState, c AdamWConfig) {
	n := len(p)
	if len(g) != n || len(s.M) != n || len(s.V) != n {
		panic(fmt.Sprintf("kernels: AdamWStep lengths p %d g %d m %d v %d", n, len(g), len(s.M), len(s.V)))
	}
	s.Step++
	decay := float32(1 - c.LR*c.WeightDecay)
	b1 := float32(1 - c.Beta1)
	beta2, b2 := float32(c.Beta2), float32(1-c.Beta2)
	bc1 := 1 - math.Pow(c.Beta1, float64(s.Step))
	bc2 := 1 - math.Pow(c.Beta2, float64(s.Step))
	stepSize := float32(c.LR / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	eps := float32(c.Eps)
	for i := range p {
		gi := g[i]
		p[i] *= decay
		s.M[i] += b1 * (gi - s.M[i])
		s.V[i] = beta2*s.V[i] + b2*gi*gi
		denom := float32(math.Sqrt(float64(s.V[i])))/bc2Sqrt + eps
		p[i] -= stepSize * s.M[i] / denom
	}
}

// ClipGradNorm scales the gradients in place like torch.nn.utils.clip_grad_norm_(max_norm, 2):
// total = ‖(‖g_1‖, …, ‖g_n‖)‖₂ (accumulated in float64 here; torch's float32 norms of norms agree
// to ~1e-7 relative), coef = max_norm/(total + 1e-6), and every gradient is multiplied by coef
// when coef < 1. It returns the total norm before clipping (NaN or +Inf propagate; nothing is then
// scaled, so the caller can detect a non-finite gradient). maxNorm ≤ 0 only measures.
func ClipGradNorm(grads [][]float32, maxNorm float64) float64 {
	var sum float64
	for _, g := range grads {
		for _, v := range g {
			sum += float64(v) * float64(v)
		}
	}
	total := math.Sqrt(sum)
	if maxNorm <= 0 || math.IsNaN(total) || math.IsInf(total, 0) {
		return total
	}
	coef := maxNorm / (total + 1e-6)
	if coef < 1 {
		c := float32(coef)
		for _, g := range grads {
			for i := range g {
				g[i] *= c
			}
		}
	}
	return total
}
