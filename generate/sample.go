package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Sampling selects the next token from a step's logits. The zero value is greedy decoding.
// Temperature > 0 samples from softmax(logits / Temperature) restricted, in transformers' order,
// first to the TopK most likely tokens (0 = all), then to the smallest set of most likely tokens
// whose probability reaches TopP (1 or 0 = all).
type Sampling struct {
	Temperature float64 // 0: greedy
	TopK        int     // 0: no top-k cut
	TopP        float64 // 0 or 1: no nucleus cut
	Seed        uint64  // seeds the sampler's random stream
}

// Validate reports settings that make no sense (negative temperature, top-p outside (0, 1]).
func (s Sampling) Validate() error {
	switch {
	case s.Temperature < 0 || math.IsNaN(s.Temperature) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("generate: temperature %v must be a finite number ≥ 0 (0 = greedy)", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("generate: top-k %d must be ≥ 0 (0 = no cut)", s.TopK)
	case s.TopP < 0 || s.TopP > 1 || math.IsNaN(s.TopP):
		return fmt.Errorf("generate: top-p %v must be in (0, 1] (0 or 1 = no cut)", s.TopP)
	}
	return nil
}

// Sampler draws tokens according to a Sampling; it owns its random stream and scratch buffers,
// so one Sampler serves one sequence at a time.
type Sampler struct {
	cfg  Sampling
	rng  *rand.Rand
	idx  []int     // (V) token ids sorted by logit, descending
	prob []float64 // (V) probabilities in idx order
}

// NewSampler returns a sampler for cfg (already validated).
func NewSampler(cfg Sampling) *Sampler {
	return &Sampler{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6d6f736c6f7261))}
}

// Greedy returns the index of the first maximum of logits (torch.argmax's choice on ties).
// A NaN logit is never chosen unless all are NaN.
func Greedy(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] || (logits[best] != logits[best] && v == v) {
			best = i
		}
	}
	return best
}

// Next picks the next token from one step's logits (V).
func (s *Sampler) Next(logits []float32) int {
	c := s.cfg
	if c.Temperature == 0 {
		return Greedy(logits)
	}
	V := len(logits)
	// Sort ids by logit, descending (stable: equal logits keep id order, as torch.topk does in
	// practice for these sizes). Only needed for top-k / top-p; otherwise draw over all ids.
	cut := (c.TopK > 0 && c.TopK < V) || (c.TopP > 0 && c.TopP < 1)
	if cap(s.idx) < V {
		s.idx, s.prob = make([]int, V), make([]float64, V)
	}
	idx, prob := s.idx[:V], s.prob[:V]
	for i := range idx {
		idx[i] = i
	}
	if cut {
		sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	}
	n := V
	if c.TopK > 0 && c.TopK < n {
		n = c.TopK
	}
	// p_i = exp((l_i − max)/T) / Σ over the kept set.
	maxL := math.Inf(-1)
	for _, id := range idx[:n] {
		maxL = math.Max(maxL, float64(logits[id]))
	}
	var sum float64
	for j, id := range idx[:n] {
		prob[j] = math.Exp((float64(logits[id]) - maxL) / c.Temperature)
		sum += prob[j]
	}
	if c.TopP > 0 && c.TopP < 1 {
		// Keep the smallest prefix whose mass reaches TopP (at least one token).
		var acc float64
		for j := 0; j < n; j++ {
			acc += prob[j] / sum
			if acc >= c.TopP {
				n = j + 1
				break
			}
		}
		sum = 0
		for _, p := range prob[:n] {
			sum += p
		}
	}
	u := s.rng.Float64() * sum
	for j := 0; j < n; j++ {
		u -= prob[j]
		if u < 0 {
			return idx[j]
		}
	}
	return idx[n-1] // rounding left u ≥ 0: the last kept token
}
