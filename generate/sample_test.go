package generate

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// refProbs is the naive reference for the sampling distribution: softmax(l/T) over all ids, zero
// outside the top-k, then zero outside the smallest nucleus reaching top-p, renormalised.
func refProbs(l []float32, c Sampling) []float64 {
	V := len(l)
	ids := make([]int, V)
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return l[ids[a]] > l[ids[b]] })
	keep := make([]bool, V)
	n := V
	if c.TopK > 0 && c.TopK < V {
		n = c.TopK
	}
	p := make([]float64, V)
	var sum float64
	for _, id := range ids[:n] {
		p[id] = math.Exp(float64(l[id]) / c.Temperature)
		sum += p[id]
	}
	acc := 0.0
	for j, id := range ids[:n] {
		keep[id] = true
		acc += p[id] / sum
		if c.TopP > 0 && c.TopP < 1 && acc >= c.TopP {
			n = j + 1
			break
		}
	}
	sum = 0
	for _, id := range ids[:n] {
		sum += p[id]
	}
	for i := range p {
		if keep[i] {
			p[i] /= sum
		} else {
			p[i] = 0
		}
	}
	return p
}

func randomLogits(seed uint64, v int) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	l := make([]float32, v)
	for i := range l {
		l[i] = float32(r.NormFloat64() * 2)
	}
	return l
}

func TestGreedyPicksFirstMaximum(t *testing.T) {
	l := []float32{1, 3, float32(math.NaN()), 3, 2}
	if got := Greedy(l); got != 1 {
		t.Errorf("Greedy = %d, want 1 (first of the tied maxima, NaN skipped)", got)
	}
	if got := NewSampler(Sampling{}).Next(l); got != 1 {
		t.Errorf("zero Sampling chose %d, want greedy 1", got)
	}
}

func TestSamplingMatchesReferenceDistribution(t *testing.T) {
	l := randomLogits(7, 37)
	const draws = 40000
	for _, c := range []Sampling{
		{Temperature: 1, Seed: 1},
		{Temperature: 0.7, TopK: 5, Seed: 2},
		{Temperature: 1.3, TopP: 0.6, Seed: 3},
		{Temperature: 1, TopK: 10, TopP: 0.8, Seed: 4},
	} {
		want := refProbs(l, c)
		s := NewSampler(c)
		got := make([]float64, len(l))
		for i := 0; i < draws; i++ {
			got[s.Next(l)]++
		}
		worst := 0.0
		for i := range got {
			got[i] /= draws
			if want[i] == 0 && got[i] != 0 {
				t.Errorf("%+v: drew token %d outside the kept set", c, i)
			}
			worst = math.Max(worst, math.Abs(got[i]-want[i]))
		}
		// 4σ of a frequency estimate from 40000 draws is at most 4·0.5/200 = 0.01.
		t.Logf("%+v: max |freq − p| %.4f", c, worst)
		if worst > 0.01 {
			t.Errorf("%+v: empirical frequencies differ from the reference by %.4f", c, worst)
		}
	}
}

func TestSamplingIsReproducibleAndCutsDegenerateToGreedy(t *testing.T) {
	l := randomLogits(9, 101)
	orig := append([]float32(nil), l...)
	draw := func(c Sampling) []int {
		s := NewSampler(c)
		var out []int
		for i := 0; i < 50; i++ {
			out = append(out, s.Next(l))
		}
		return out
	}
	c := Sampling{Temperature: 1, TopK: 20, TopP: 0.9, Seed: 42}
	a, b := draw(c), draw(c)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different draws")
	}
	c.Seed = 43
	if slices.Equal(a, draw(c)) {
		t.Error("different seeds gave identical draws")
	}
	g := Greedy(l)
	for _, c := range []Sampling{{Temperature: 1, TopK: 1}, {Temperature: 2, TopP: 1e-9}} {
		for _, id := range draw(c) {
			if id != g {
				t.Fatalf("%+v drew %d, want the greedy %d", c, id, g)
			}
		}
	}
	if !slices.Equal(orig, l) {
		t.Error("sampling modified the logits")
	}
}

func TestSamplingValidate(t *testing.T) {
	for _, c := range []Sampling{{Temperature: -1}, {TopK: -2}, {TopP: 1.5}, {Temperature: math.Inf(1)}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestKeptSetsMatchFullSort: the top-k heap and the top-p prefilter keep exactly the sets a full
// sort of the vocabulary gives, on a large vocabulary with tied logits.
func TestKeptSetsMatchFullSort(t *testing.T) {
	l := randomLogits(11, 5000)
	for i := 0; i < len(l); i += 7 {
		l[i] = float32(math.Round(float64(l[i]))) // ties
	}
	for _, c := range []Sampling{{Temperature: 1, TopK: 40}, {Temperature: 0.5, TopP: 0.7}, {Temperature: 2, TopP: 0.95}, {Temperature: 1, TopK: 300, TopP: 0.5}} {
		want := refProbs(l, c)
		s := NewSampler(c)
		seen := map[int]bool{}
		for i := 0; i < 1000; i++ {
			id := s.Next(l)
			if want[id] == 0 {
				t.Fatalf("%+v: drew %d outside the reference's kept set", c, id)
			}
			seen[id] = true
		}
		kept := 0
		for _, p := range want {
			if p > 0 {
				kept++
			}
		}
		t.Logf("%+v: reference keeps %d ids, %d drawn", c, kept, len(seen))
	}
	ids := topKIDs(nil, l, 25)
	slices.SortFunc(ids, byLogit(l))
	all := make([]int, len(l))
	for i := range all {
		all[i] = i
	}
	sort.SliceStable(all, func(a, b int) bool { return l[all[a]] > l[all[b]] })
	if !slices.Equal(ids, all[:25]) {
		t.Errorf("top-25 heap %v, full stable sort %v", ids, all[:25])
	}
}
