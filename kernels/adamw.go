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
// Element arithmetic is float32 like torch's kernels; scalars are float64 rounded once. A large
// tensor is updated in contiguous pieces on up to GOMAXPROCS goroutines (pieces): each element's
// update reads only that element, so the result does not depend on the split.
func AdamWStep(p, g []float32, s *AdamWState, c AdamWConfig) {
	n := len(p)
	if len(g) != n || len(s.M) != n || len(s.V) != n {
		panic(fmt.Sprintf("kernels: AdamWStep lengths p %d g %d m %d v %d", n, len(g), len(s.M), len(s.V)))
	}
	s.Step++
	k := adamWScalars(c, s.Step)
	pieces(n, parallelGrain, func(lo, hi int) { adamWRange(p[lo:hi], g[lo:hi], s.M[lo:hi], s.V[lo:hi], k) })
}

// adamWConst holds the float32 scalars of one update (AdamWStep).
type adamWConst struct{ decay, b1, beta2, b2, stepSize, bc2Sqrt, eps float32 }

// adamWScalars rounds the update's scalars for step (1-based) once.
func adamWScalars(c AdamWConfig, step int) adamWConst {
	bc1 := 1 - math.Pow(c.Beta1, float64(step))
	bc2 := 1 - math.Pow(c.Beta2, float64(step))
	return adamWConst{decay: float32(1 - c.LR*c.WeightDecay), b1: float32(1 - c.Beta1),
		beta2: float32(c.Beta2), b2: float32(1 - c.Beta2), stepSize: float32(c.LR / bc1),
		bc2Sqrt: float32(math.Sqrt(bc2)), eps: float32(c.Eps)}
}

// adamWRange is the update of AdamWStep on one piece (all slices the same length): the serial
// loop, also the reference the split is tested against.
func adamWRange(p, g, m, v []float32, k adamWConst) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		gi := g[i]
		p[i] *= k.decay
		m[i] += k.b1 * (gi - m[i])
		v[i] = k.beta2*v[i] + k.b2*gi*gi
		denom := float32(math.Sqrt(float64(v[i])))/k.bc2Sqrt + k.eps
		p[i] -= k.stepSize * m[i] / denom
	}
}

// ClipGradNorm scales the gradients in place like torch.nn.utils.clip_grad_norm_(max_norm, 2):
// total = ‖(‖g_1‖, …, ‖g_n‖)‖₂ (accumulated in float64 here; torch's float32 norms of norms agree
// to ~1e-7 relative), coef = max_norm/(total + 1e-6), and every gradient is multiplied by coef
// when coef < 1. It returns the total norm before clipping (NaN or +Inf propagate; nothing is then
// scaled, so the caller can detect a non-finite gradient). maxNorm ≤ 0 only measures.
//
// The sum of squares has a fixed order whatever the number of threads (sumSquares: per chunk of
// normChunk elements of each tensor in turn, then the chunks' sums in order); chunks are summed,
// and gradients scaled, on up to GOMAXPROCS goroutines.
func ClipGradNorm(grads [][]float32, maxNorm float64) float64 {
	total := math.Sqrt(sumSquares(grads))
	if maxNorm <= 0 || math.IsNaN(total) || math.IsInf(total, 0) {
		return total
	}
	coef := maxNorm / (total + 1e-6)
	if coef < 1 {
		c := float32(coef)
		for _, g := range grads {
			pieces(len(g), parallelGrain, func(lo, hi int) {
				for i := range g[lo:hi] {
					g[lo+i] *= c
				}
			})
		}
	}
	return total
}

// normChunk is the number of elements of a tensor whose squares sumSquares adds in one sequence.
const normChunk = 1 << 14

// sumSquares returns Σ v² over every gradient in float64: each tensor cut into chunks of
// normChunk elements, each chunk summed in order from zero, the chunks' sums then added in order
// (tensor after tensor). The order depends on the tensors' lengths only, never on the threads.
func sumSquares(grads [][]float32) float64 {
	var chunks [][]float32
	for _, g := range grads {
		for lo := 0; lo < len(g); lo += normChunk {
			chunks = append(chunks, g[lo:min(len(g), lo+normChunk)])
		}
	}
	part := make([]float64, len(chunks))
	pieces(len(chunks), parallelGrain/normChunk, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for _, v := range chunks[c] {
				s += float64(v) * float64(v)
			}
			part[c] = s
		}
	})
	var sum float64
	for _, s := range part {
		sum += s
	}
	return sum
}
