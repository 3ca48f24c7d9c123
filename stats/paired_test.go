package stats

import (
	"math"
	"testing"
)

// The expected values marked "scipy 1.10.1" were computed with Debian 12's python3-scipy:
//
//	from scipy import stats
//	stats.wilcoxon(a, b)   # defaults: zero_method="wilcox", correction=False, method="auto"
//	stats.ttest_rel(a, b)
//
// with a, b as written in each case (not part of CI; the numbers are copied here).

func TestWilcoxonAllPositiveIsTheSmallestExactP(t *testing.T) {
	// Hand-computed: five positive differences with distinct |d| give W+ = 1+…+5 = 15, the largest
	// of the 2⁵ equally likely sign patterns, so P(W+ ≥ 15) = 1/32 and the two-sided p = 2/32.
	r := Wilcoxon([]float64{2, 3, 4, 5, 6}, []float64{1.5, 1, 1.25, 1, 1})
	if r.WPlus != 15 || r.T != 0 || !r.Exact || !near(r.P, 2.0/32, 1e-15) {
		t.Errorf("Wilcoxon = %+v, want W+ 15, T 0, exact p 0.0625", r)
	}
	// Swapping the samples flips every sign: same T and p.
	s := Wilcoxon([]float64{1.5, 1, 1.25, 1, 1}, []float64{2, 3, 4, 5, 6})
	if s.WPlus != 0 || s.T != 0 || s.P != r.P {
		t.Errorf("swapped: %+v, want W+ 0, T 0, same p", s)
	}
}

func TestWilcoxonExactDistributionCountsSubsets(t *testing.T) {
	// Hand-computed for n = 3: subsets of {1,2,3} by sum 0..6: {} {1} {2} {3},{1,2} {1,3} {2,3} {1,2,3}.
	want := []float64{1, 1, 1, 2, 1, 1, 1}
	got := wilcoxonCounts(3)
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("wilcoxonCounts(3) = %v, want %v", got, want)
		}
	}
	// The counts sum to 2ⁿ for every n.
	for n := 1; n <= 20; n++ {
		var s float64
		for _, c := range wilcoxonCounts(n) {
			s += c
		}
		if s != math.Pow(2, float64(n)) {
			t.Errorf("n %d: counts sum to %v, want 2^%d", n, s, n)
		}
	}
}

func TestWilcoxonMatchesScipy(t *testing.T) {
	cases := []struct {
		name  string
		a, b  []float64
		T, p  float64
		exact bool
	}{
		// Our LoRA and MoSLoRA avg_scores of seeds 0–6 (BENCHMARKS.md): no ties, no zeros.
		{"seeds", []float64{29.83, 32.25, 33.13, 32.83, 31.79, 32.10, 32.26}, []float64{30.75, 33.39, 34.02, 32.56, 31.71, 32.55, 32.35}, 4, 0.109375, true},
		// d = 1, 1, −2, 2, 2, 3: tied |d|, W+ = 17 → scipy uses the exact table at ⌊W+⌋.
		{"ties", []float64{1, 2, 3, 4, 5, 6}, []float64{0, 1, 5, 2, 3, 3}, 4, 0.21875, true},
		// d = 0, 2, 0, 3, −4, 5, −0.5: zeros → normal approximation on the 5 non-zero ones.
		{"zeros", []float64{1, 2, 3, 4, 5, 6, 7}, []float64{1, 0, 3, 1, 9, 2, 7.5}, 5.5, 0.5879367461735663, false},
		// 60 pairs (> 50): normal approximation with the tie correction.
		{"large", bigA, bigB, 584, 0.02308666741558017, false},
	}
	for _, c := range cases {
		r := Wilcoxon(c.a, c.b)
		if r.T != c.T || !near(r.P, c.p, 1e-12) || r.Exact != c.exact {
			t.Errorf("%s: Wilcoxon = %+v, scipy gives T %v, p %v (exact %v)", c.name, r, c.T, c.p, c.exact)
		}
	}
}

func TestWilcoxonUndefinedIsNaN(t *testing.T) {
	if r := Wilcoxon(nil, nil); !math.IsNaN(r.P) {
		t.Errorf("no pairs: p = %v, want NaN", r.P)
	}
	if r := Wilcoxon([]float64{1, 2}, []float64{1, 2}); !math.IsNaN(r.P) || r.Zeros != 2 {
		t.Errorf("all differences zero: %+v, want NaN p and 2 zeros", r)
	}
}

func TestPairedTMatchesScipy(t *testing.T) {
	cases := []struct {
		name  string
		a, b  []float64
		tt, p float64
	}{
		{"seeds", []float64{29.83, 32.25, 33.13, 32.83, 31.79, 32.10, 32.26}, []float64{30.75, 33.39, 34.02, 32.56, 31.71, 32.55, 32.35}, -2.1551719611127758, 0.07457204788577716},
		{"ties", []float64{1, 2, 3, 4, 5, 6}, []float64{0, 1, 5, 2, 3, 3}, 1.6591591209899201, 0.1579794508234564},
		{"zeros", []float64{1, 2, 3, 4, 5, 6, 7}, []float64{1, 0, 3, 1, 9, 2, 7.5}, 0.640141215449134, 0.5457339213775587},
		// Hand-computed: d = 1, 2, 3, 4, 5: d̄ = 3, s_d = √2.5, t = 3/(√2.5/√5) = 3√2.
		{"hand", []float64{2, 3, 4, 5, 6}, []float64{1, 1, 1, 1, 1}, 3 * math.Sqrt2, 0.013235599563682695},
	}
	for _, c := range cases {
		r := PairedT(c.a, c.b)
		if !near(r.T, c.tt, 1e-12) || !near(r.P, c.p, 1e-12) || r.DF != float64(len(c.a)-1) {
			t.Errorf("%s: PairedT = %+v, scipy gives t %v, p %v", c.name, r, c.tt, c.p)
		}
		// d_z is t/√n by definition.
		if dz := PairedD(c.a, c.b); !near(dz, r.T/math.Sqrt(float64(r.N)), 1e-12) {
			t.Errorf("%s: PairedD = %v, want t/√n = %v", c.name, dz, r.T/math.Sqrt(float64(r.N)))
		}
	}
	if r := PairedT([]float64{1, 2}, []float64{0, 1}); !math.IsNaN(r.P) || r.MeanDiff != 1 {
		t.Errorf("constant differences: %+v, want NaN p, mean diff 1", r)
	}
}

func TestCohenDHandComputed(t *testing.T) {
	// a = 1,2,3 (mean 2, s² 1), b = 4,5,6 (mean 5, s² 1): pooled s = 1, d = (2 − 5)/1 = −3.
	if d := CohenD([]float64{1, 2, 3}, []float64{4, 5, 6}); !near(d, -3, 1e-15) {
		t.Errorf("CohenD = %v, want −3", d)
	}
	// Unequal sizes: a = 0,2 (s² 2), b = 1,1,4 (mean 2, s² 3): pooled s² = (2 + 2·3)/3 = 8/3.
	if d := CohenD([]float64{0, 2}, []float64{1, 1, 4}); !near(d, (1-2)/math.Sqrt(8.0/3), 1e-15) {
		t.Errorf("CohenD = %v, want −1/√(8/3)", d)
	}
}

func TestRanksAverageTies(t *testing.T) {
	r, ties := Ranks([]float64{10, 20, 10, 30, 20, 20})
	want := []float64{1.5, 4, 1.5, 6, 4, 4}
	for i := range want {
		if r[i] != want[i] {
			t.Fatalf("Ranks = %v, want %v", r, want)
		}
	}
	if len(ties) != 2 || ties[0] != 2 || ties[1] != 3 {
		t.Errorf("tie groups = %v, want [2 3]", ties)
	}
}

// bigA, bigB: 60 pairs drawn with numpy (default_rng(1): a ~ N(0,1), b = a + N(0.3, 1)), rounded
// to two decimals; the scipy result above is for exactly these values.
var bigA = []float64{0.35, 0.82, 0.33, -1.3, 0.91, 0.45, -0.54, 0.58, 0.36, 0.29, 0.03, 0.55, -0.74, -0.16, -0.48, 0.6, 0.04, -0.29, -0.78, -0.26, 0.01, -0.28, 1.29, 1.01, -2.71, -1.89, -0.17, -0.42, 0.21, 0.22, 2.12, -1.11, -0.38, 2.04, 0.65, 0.66, -0.51, -1.65, 0.17, 0.11, -1.23, -0.68, -0.07, -0.94, -0.1, 0.1, 0.04, -0.51, 0.59, 0.89, 0.32, -0.82, 0.73, -0.5, 0.88, -1.07, 0.91, -0.02, -1.25, -0.31}
var bigB = []float64{0.7, 1.39, -0.35, -2.11, 1.4, 0.28, -0.0, 1.64, -0.98, 0.85, 1.55, 0.55, -1.25, 0.89, 0.07, 1.79, -0.01, -1.47, -0.59, -0.4, 1.08, 0.22, -0.04, 0.11, -1.53, -0.91, -0.52, -0.12, 0.96, 0.99, 3.29, -0.56, -0.17, 2.08, 2.0, -1.29, -0.35, -1.32, -0.96, 0.74, -1.58, 0.48, 0.1, 0.02, 1.42, 0.78, -0.54, -1.72, 2.65, 1.08, -0.07, -0.37, 0.84, 0.65, 1.21, -0.76, 0.5, 0.75, -1.98, 0.65}
