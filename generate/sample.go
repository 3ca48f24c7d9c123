package generate

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	cand []int     // candidate ids, sorted by logit (descending, ties by id)
	prob []float64 // unnormalised probabilities of cand
	e    []float64 // (V) unnormalised probabilities exp((l − max)/T)
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

// byLogit orders ids by logit, descending, equal logits by id (a stable sort's order).
func byLogit(logits []float32) func(a, b int) int {
	return func(a, b int) int {
		switch la, lb := logits[a], logits[b]; {
		case la > lb:
			return -1
		case la < lb:
			return 1
		}
		return cmp.Compare(a, b)
	}
}

// Next picks the next token from one step's logits (V).
//
// The kept set is found without sorting the whole vocabulary: top-k keeps a size-k heap; top-p
// alone sorts only the ids with p_i ≥ (1−p)/(2V), since the ids below that bound hold less than
// (1−p)/2 of the mass, so the ids above it reach mass p and contain the nucleus.
func (s *Sampler) Next(logits []float32) int {
	c := s.cfg
	if c.Temperature == 0 {
		return Greedy(logits)
	}
	V := len(logits)
	topK := c.TopK > 0 && c.TopK < V
	topP := c.TopP > 0 && c.TopP < 1
	s.e = grow64(s.e, V)
	maxL := float64(logits[Greedy(logits)])
	var z float64 // Σ over all ids of exp((l − max)/T)
	for i, l := range logits {
		s.e[i] = math.Exp((float64(l) - maxL) / c.Temperature)
		z += s.e[i]
	}
	if !topK && !topP {
		return s.draw(nil, s.e, z)
	}
	cand := s.cand[:0]
	if topK {
		cand = topKIDs(cand, logits, c.TopK)
	} else {
		t := z * (1 - c.TopP) / float64(2*V)
		for i, e := range s.e {
			if e >= t {
				cand = append(cand, i)
			}
		}
	}
	slices.SortFunc(cand, byLogit(logits))
	s.cand = cand
	s.prob = grow64(s.prob, len(cand))
	prob := s.prob[:len(cand)]
	var kept float64 // mass of the candidates (= z for top-p alone, the top-k mass otherwise)
	for j, id := range cand {
		prob[j] = s.e[id]
		kept += prob[j]
	}
	if !topK {
		kept = z
	}
	n := len(cand)
	if topP {
		// Keep the smallest prefix whose mass reaches TopP (at least one token).
		var acc float64
		for j := 0; j < n; j++ {
			acc += prob[j] / kept
			if acc >= c.TopP {
				n = j + 1
				break
			}
		}
	}
	var sum float64
	for _, p := range prob[:n] {
		sum += p
	}
	return s.draw(cand[:n], prob[:n], sum)
}

// draw samples index j with probability p[j]/sum and returns ids[j] (j itself when ids is nil).
func (s *Sampler) draw(ids []int, p []float64, sum float64) int {
	u := s.rng.Float64() * sum
	j := 0
	for ; j < len(p)-1; j++ {
		u -= p[j]
		if u < 0 {
			break
		}
	}
	if ids == nil {
		return j
	}
	return ids[j]
}

// topKIDs appends to dst the ids of the k largest logits (ties by lower id), in no order, using a
// min-heap of size k: O(V log k).
func topKIDs(dst []int, logits []float32, k int) []int {
	less := byLogit(logits) // less(a, b) < 0: a ranks before b
	h := dst[:0]
	worse := func(a, b int) bool { return less(h[a], h[b]) > 0 } // heap root = the worst kept
	down := func(i int) {
		for {
			l, w := 2*i+1, i
			if l < len(h) && worse(l, w) {
				w = l
			}
			if r := l + 1; r < len(h) && worse(r, w) {
				w = r
			}
			if w == i {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for id := range logits {
		if len(h) < k {
			h = append(h, id)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(i, p) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if less(id, h[0]) < 0 {
			h[0] = id
			down(0)
		}
	}
	return h
}

func grow64(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}
