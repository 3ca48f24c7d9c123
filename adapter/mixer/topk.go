package mixer

import "math/rand/v2"

// DefaultTopK is the k of a gated-topk mixer whose config does not set moslora_top_k (MixLoRA's
// top-2 routing), or K when K is smaller (TopKFor).
const DefaultTopK = 2

// TopKFor returns the k that moslora_top_k = top means for K subspaces: top, or when top is 0
// (not set) DefaultTopK, capped at K.
func TopKFor(top, k int) int {
	if top != 0 {
		return top
	}
	return max(1, min(DefaultTopK, k))
}

// TopK is the gated mixer with top-k routing as in MixLoRA (Li et al. 2024): each token's gate
// keeps only the k largest of its K logits, renormalised by a softmax over those k; the other
// K − k gates are exactly 0, so each token uses k of the K subspaces. Its tensors, their file keys
// (lora_gate.weight, lora_gate.bias) and the gate statistics are the gated mixer's; the gate and
// the initialisation differ. Like the gated mixer it has no fixed matrix: no fold, no merge.
//
//	S_t = the k indices of the largest ℓ_{t,m}, ℓ_t = G·x_t + c; among equal logits the lower index
//	      is taken first (deterministic ties)
//	g_{t,m} = exp(ℓ_{t,m}) / Σ_{j∈S_t} exp(ℓ_{t,j}) for m ∈ S_t, 0 otherwise;  z_{t,m} = g_{t,m}·h_{t,m}
//
// With k = K, S_t is every index and the gate is the gated mixer's softmax, computed by the same
// function on the same row: for the same G and c the two mixers agree bit for bit (forward and
// backward). Only the initialisation differs (Init).
type TopK struct {
	Gated
	Top  int    // k, 1 ≤ k ≤ K
	keep []bool // (K) scratch: the selected indices of one row
	sel  []float32
}

func newTopK(s Shape) Mixer {
	return &TopK{Gated: *newGated(s).(*Gated), Top: s.TopK, keep: make([]bool, s.K), sel: make([]float32, s.TopK)}
}

func (*TopK) Name() string { return GatedTopKName }

func (q *TopK) Forward(h, x []float32, n int) []float32 {
	return q.forward(h, x, n, q.route)
}

// route replaces the logits row by its top-k routed gates.
func (q *TopK) route(row []float32) {
	if q.Top >= len(row) {
		Softmax(row, row) // k = K: the gated mixer's gate
		return
	}
	clear(q.keep)
	for range q.Top {
		best := -1
		for m, v := range row {
			if !q.keep[m] && (best < 0 || v > row[best]) { // strict: the lower index wins a tie
				best = m
			}
		}
		q.keep[best] = true
	}
	sel := q.sel[:0]
	for m, v := range row {
		if q.keep[m] {
			sel = append(sel, v)
		}
	}
	Softmax(sel, sel)
	j := 0
	for m := range row {
		if q.keep[m] {
			row[m] = sel[j]
			j++
		} else {
			row[m] = 0
		}
	}
}

// Backward is the gated mixer's backward on the routed gates. The selection S_t is piecewise
// constant in ℓ, so no gradient flows through it; the gradient flows only through the selected
// gates, whose softmax over S_t has the same Jacobian as the full softmax restricted to S_t:
//
//	dh_{t,m} = g_{t,m}·dz_{t,m}   (0 outside S_t)      dg_{t,m} = Σ_{j∈m} dz·h
//	dℓ_{t,m} = g_{t,m}·(dg_{t,m} − Σ_{j∈S_t} g_{t,j}·dg_{t,j})   (0 outside S_t)
//	dG += dℓᵀ·x    dc += Σ_t dℓ_t    dx += dℓ·G  (returned as a Product)
//
// With k = 1 the one selected gate is 1 whatever ℓ is, so dℓ = 0: the router gets no gradient
// (train warns). Because g_{t,m} = 0 outside S_t, these are exactly the gated mixer's formulas
// dℓ_t = g_t ⊙ (dg_t − g_t·dg_t) evaluated at the routed gates, so Gated.Backward computes them.
func (q *TopK) Backward(dz, h, x []float32, n int) ([]float32, Product) {
	return q.Gated.Backward(dz, h, x, n)
}

// RouterInitStd is the standard deviation of the gate weight G at initialisation (MixLoRA's
// router_init_range, 0.02).
const RouterInitStd = 0.02

// Init draws G ~ N(0, RouterInitStd²) and leaves c at 0, as MixLoRA initialises its router. (At
// G = 0, the gated mixer's start, every logit would tie and every token would start on the same
// first k subspaces; the ones left out get no gradient until some token routes to them.)
func (q *TopK) Init(rng *rand.Rand) { Gaussian(q.G, RouterInitStd, rng) }
