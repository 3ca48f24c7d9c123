package stats

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMeanStd(t *testing.T) {
	x := []float64{2, 4, 4, 4, 5, 5, 7, 9}
	if m := Mean(x); m != 5 {
		t.Errorf("Mean = %v, want 5", m)
	}
	if s := Std(x); !near(s, math.Sqrt(32.0/7), 1e-15) {
		t.Errorf("Std = %v, want √(32/7)", s)
	}
	if !math.IsNaN(Mean(nil)) || !math.IsNaN(Std([]float64{1})) {
		t.Error("Mean of nothing and Std of one value must be NaN")
	}
}

// tSurvival integrates the Student t density from |t| to a far bound with Simpson's rule: an
// independent check of the p-values gonum's distribution gives WelchT.
func tSurvival(t, df float64) float64 {
	lg1, _ := math.Lgamma((df + 1) / 2)
	lg2, _ := math.Lgamma(df / 2)
	c := math.Exp(lg1-lg2) / math.Sqrt(df*math.Pi)
	f := func(x float64) float64 { return c * math.Pow(1+x*x/df, -(df+1)/2) }
	a, b, n := math.Abs(t), math.Abs(t)+400, 400000
	h := (b - a) / float64(n)
	s := f(a) + f(b)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * f(a+float64(i)*h)
	}
	return s * h / 3
}

func TestWelchT(t *testing.T) {
	// The first example of the Wikipedia article on Welch's t-test: t = −2.46, ν ≈ 25.0, p = 0.021.
	a1 := []float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4}
	a2 := []float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4}
	w := WelchT(a1, a2)
	if !near(w.T, -2.46, 0.005) || !near(w.DF, 25.0, 0.05) || !near(w.P, 0.021, 0.0005) {
		t.Errorf("WelchT = %+v, want t −2.46, df 25.0, p 0.021", w)
	}
	if p := 2 * tSurvival(w.T, w.DF); !near(w.P, p, 1e-6) {
		t.Errorf("p = %.8f, numerical integration gives %.8f", w.P, p)
	}
	// Our LoRA seeds against the PyTorch reference's (issue 5): small samples, unequal spreads.
	ours, ref := []float64{29.83, 32.25, 33.13}, []float64{33.6, 33.7, 32.9}
	w = WelchT(ours, ref)
	if p := 2 * tSurvival(w.T, w.DF); !near(w.P, p, 1e-5) || w.T >= 0 { // heavy tails: the integral stops at |t|+400
		t.Errorf("WelchT(ours, ref) = %+v; numerical p %.8f", w, p)
	}
	if r := WelchT(ref, ours); !near(r.T, -w.T, 1e-12) || !near(r.P, w.P, 1e-12) {
		t.Errorf("WelchT is not antisymmetric: %+v vs %+v", r, w)
	}
	if w := WelchT([]float64{1, 1}, []float64{1, 1}); !math.IsNaN(w.P) {
		t.Errorf("zero variance in both groups: p = %v, want NaN", w.P)
	}
	if w := WelchT([]float64{1}, []float64{1, 2}); !math.IsNaN(w.P) {
		t.Errorf("one value in a group: p = %v, want NaN", w.P)
	}
}

func TestMannWhitneyExact(t *testing.T) {
	for _, c := range []struct {
		a, b []float64
		u, p float64
	}{
		{[]float64{1, 2, 3}, []float64{4, 5, 6}, 0, 2.0 / 20},
		{[]float64{5, 6, 7, 8}, []float64{1, 2, 3, 4}, 16, 2.0 / 70},
		// LoRA vs MoSLoRA seeds 0–2 of issue 5: U = 2, P(U ≤ 2) = 4/20.
		{[]float64{29.83, 32.25, 33.13}, []float64{30.75, 33.39, 34.02}, 2, 0.4},
		// U = 3 of 9: P(U ≤ 3) = 7/20.
		{[]float64{1, 3, 5}, []float64{2, 4, 6}, 3, 0.7},
	} {
		r := MannWhitneyU(c.a, c.b)
		if !r.Exact || r.U != c.u || !near(r.P, c.p, 1e-12) {
			t.Errorf("MannWhitneyU(%v, %v) = %+v, want exact U %v p %v", c.a, c.b, r, c.u, c.p)
		}
	}
}

func TestMannWhitneyApproximate(t *testing.T) {
	// Ties force the normal approximation; identical groups are no evidence of a difference.
	r := MannWhitneyU([]float64{1, 2, 2, 3}, []float64{1, 2, 2, 3})
	if r.Exact || r.U != 8 || r.P != 1 {
		t.Errorf("identical groups: %+v, want U 8, p 1, not exact", r)
	}
	// Far apart with a tie inside each group: p small, and close to the exact no-tie value.
	a, b := []float64{1, 1, 2, 3, 4, 5, 6, 7}, []float64{11, 11, 12, 13, 14, 15, 16, 17}
	r = MannWhitneyU(a, b)
	if r.Exact || r.U != 0 || r.P > 0.002 || r.P < 0.0001 {
		t.Errorf("separated groups with ties: %+v, want U 0 and p in [1e-4, 2e-3]", r)
	}
	if r := MannWhitneyU(nil, b); !math.IsNaN(r.P) {
		t.Errorf("empty group: p = %v, want NaN", r.P)
	}
}
