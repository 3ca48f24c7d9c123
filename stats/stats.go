// Package stats owns the small statistics that honest comparisons of training runs need: mean and
// sample standard deviation over seeds; for independent groups, Welch's unequal-variance t-test,
// the Mann–Whitney rank-sum test (exact for small samples without ties) and Cohen's d; for groups
// paired by seed (same initialisation draw and data order), the paired t-test, the Wilcoxon
// signed-rank test (computed as scipy.stats.wilcoxon's defaults do) and the paired effect size
// d_z; the Student-t interval of a mean over seeds, and the stratified percentile bootstrap
// interval of a single run's score over its test examples. Every test is two-sided.
//
// # Invariants
//
//   - Functions never modify their inputs; p-values lie in [0, 1].
//   - Undefined results (fewer than two values where a variance is needed, zero variance, no
//     non-zero paired difference) are NaN, never a made-up number.
//   - The bootstrap is reproducible: the same data, resamples, level and seed give the same interval.
package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Mean is the arithmetic mean (NaN for no values).
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Std is the sample standard deviation (n − 1 in the denominator; NaN for fewer than two values).
func Std(x []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	m := Mean(x)
	var s float64
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)-1))
}

// Welch is the result of Welch's t-test of mean(a) = mean(b).
type Welch struct {
	T, DF, P float64
}

// WelchT tests mean(a) = mean(b) without assuming equal variances:
//
//	t = (ā − b̄) / √(sa²/na + sb²/nb),  df by Welch–Satterthwaite,  p = 2·P(T_df > |t|)
//
// NaN fields when either group has fewer than two values or both have zero variance.
func WelchT(a, b []float64) Welch {
	if len(a) < 2 || len(b) < 2 {
		return Welch{math.NaN(), math.NaN(), math.NaN()}
	}
	va, vb := Std(a), Std(b)
	qa, qb := va*va/float64(len(a)), vb*vb/float64(len(b))
	se := math.Sqrt(qa + qb)
	if se == 0 {
		return Welch{math.NaN(), math.NaN(), math.NaN()}
	}
	t := (Mean(a) - Mean(b)) / se
	df := (qa + qb) * (qa + qb) / (qa*qa/float64(len(a)-1) + qb*qb/float64(len(b)-1))
	st := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	return Welch{T: t, DF: df, P: math.Min(1, 2*st.Survival(math.Abs(t)))}
}

// MannWhitney is the result of the rank-sum test: U counts the pairs (a_i, b_j) with a_i > b_j
// (ties count one half); Exact says whether P is the exact permutation p-value (no ties, na·nb
// small enough) or the normal approximation with tie correction.
type MannWhitney struct {
	U, P  float64
	Exact bool
}

// MannWhitneyU tests whether a and b come from the same distribution, two-sided. Exact when there
// are no ties and C(na+nb, na) ≤ 10⁷; otherwise the normal approximation with continuity and tie
// corrections. NaN when a group is empty.
func MannWhitneyU(a, b []float64) MannWhitney {
	na, nb := len(a), len(b)
	if na == 0 || nb == 0 {
		return MannWhitney{math.NaN(), math.NaN(), false}
	}
	var u float64
	for _, x := range a {
		for _, y := range b {
			switch {
			case x > y:
				u++
			case x == y:
				u += 0.5
			}
		}
	}
	all := append(append([]float64(nil), a...), b...)
	sort.Float64s(all)
	ties := false // any two equal values, within a group or across
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			ties = true
		}
	}
	if !ties && binomial(na+nb, na) <= 1e7 {
		return MannWhitney{U: u, P: exactP(na, nb, u), Exact: true}
	}
	// Normal approximation: mean na·nb/2, variance with the tie correction Σ(t³ − t).
	n := float64(na + nb)
	var tie float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j] == all[i] {
			j++
		}
		t := float64(j - i)
		tie += t*t*t - t
		i = j
	}
	mu := float64(na*nb) / 2
	v := float64(na*nb) / 12 * ((n + 1) - tie/(n*(n-1)))
	if v <= 0 {
		return MannWhitney{U: u, P: 1}
	}
	z := (math.Abs(u-mu) - 0.5) / math.Sqrt(v)
	p := 2 * distuv.UnitNormal.Survival(math.Max(z, 0))
	return MannWhitney{U: u, P: math.Min(1, p)}
}

// exactP is the two-sided exact p-value of U = u for sample sizes na, nb without ties:
// 2·min(P(U ≤ u), P(U ≥ u)), capped at 1, from the count of rank arrangements per U value.
func exactP(na, nb int, u float64) float64 {
	// c[i][k]: arrangements of i items of a among … built by the recurrence over the largest
	// element: N(m, n, k) = N(m−1, n, k−n) + N(m, n−1, k).
	maxU := na * nb
	memo := map[[3]int]float64{}
	var count func(m, n, k int) float64
	count = func(m, n, k int) float64 {
		if k < 0 || k > m*n {
			return 0
		}
		if m == 0 || n == 0 {
			if k == 0 {
				return 1
			}
			return 0
		}
		key := [3]int{m, n, k}
		if v, ok := memo[key]; ok {
			return v
		}
		v := count(m-1, n, k-n) + count(m, n-1, k)
		memo[key] = v
		return v
	}
	total := binomial(na+nb, na)
	ui := int(math.Round(u))
	var lo, hi float64
	for k := 0; k <= maxU; k++ {
		c := count(na, nb, k)
		if k <= ui {
			lo += c
		}
		if k >= ui {
			hi += c
		}
	}
	return math.Min(1, 2*math.Min(lo, hi)/total)
}

// binomial is C(n, k) as a float64.
func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return math.Round(r)
}
