package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Paired tests compare two methods run on the same seeds: a[i] and b[i] share seed i (the same
// initialisation draw and data order), so the seed-to-seed spread they share cancels in the
// differences d_i = a_i − b_i.

// PairedTResult is the result of the paired t-test of mean(a − b) = 0.
type PairedTResult struct {
	N        int     // pairs
	MeanDiff float64 // mean of d = a − b
	T, DF, P float64
}

// PairedT is the two-sided paired t-test (scipy.stats.ttest_rel):
//
//	d_i = a_i − b_i,  t = d̄ / (s_d / √n),  df = n − 1,  p = 2·P(T_df > |t|)
//
// a and b must have equal lengths (a programmer error otherwise). NaN fields for fewer than two
// pairs or when every difference is the same (s_d = 0).
func PairedT(a, b []float64) PairedTResult {
	d := diffs(a, b)
	r := PairedTResult{N: len(d), MeanDiff: Mean(d), T: math.NaN(), DF: math.NaN(), P: math.NaN()}
	if len(d) < 2 {
		return r
	}
	sd := Std(d)
	if sd == 0 {
		return r
	}
	r.T = r.MeanDiff / (sd / math.Sqrt(float64(len(d))))
	r.DF = float64(len(d) - 1)
	st := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: r.DF}
	r.P = math.Min(1, 2*st.Survival(math.Abs(r.T)))
	return r
}

// WilcoxonResult is the result of the Wilcoxon signed-rank test.
type WilcoxonResult struct {
	N     int     // non-zero differences (the ranks that count)
	Zeros int     // zero differences, dropped
	WPlus float64 // sum of the ranks of |d| over positive d
	T     float64 // min(W+, W−): the statistic scipy reports for the two-sided test
	P     float64
	Exact bool    // P from the exact null distribution, else the normal approximation
	Z     float64 // the normal approximation's z (NaN when Exact)
}

// WilcoxonExactMax is the largest number of pairs for which the exact null distribution is used.
const WilcoxonExactMax = 50

// Wilcoxon is the two-sided Wilcoxon signed-rank test of the differences d = a − b, computed as
// scipy.stats.wilcoxon(a, b) does with its defaults (scipy 1.10: zero_method="wilcox",
// correction=False, method="auto"):
//
//   - ranks are the average ranks of |d| (ties share the mean of their ranks);
//   - with n ≤ 50 pairs and no zero difference, P is exact: 2·min(P(W+ ≤ w), P(W+ ≥ w)) under the
//     null distribution of W+ for n untied ranks (1 when w is the centre). With tied |d|, W+ may be
//     a half-integer; like scipy, the table is still used, at ⌊W+⌋ — the "exact" p-value is then
//     only an approximation (Exact is still true, as scipy calls it);
//   - otherwise (n > 50, or any zero difference): zero differences are dropped, and with the m
//     remaining ranks z = (T − m(m+1)/4) / σ, σ² = (m(m+1)(2m+1) − ½Σ(t³ − t))/24 over tie groups
//     of size t, no continuity correction, P = 2·(1 − Φ(|z|)).
//
// NaN statistics when there are no pairs or every difference is zero.
func Wilcoxon(a, b []float64) WilcoxonResult {
	d := diffs(a, b)
	nan := WilcoxonResult{N: len(d), WPlus: math.NaN(), T: math.NaN(), P: math.NaN(), Z: math.NaN()}
	if len(d) == 0 {
		return nan
	}
	zeros := 0
	for _, v := range d {
		if v == 0 {
			zeros++
		}
	}
	exact := len(d) <= WilcoxonExactMax && zeros == 0
	if zeros == len(d) {
		nan.Zeros = zeros
		return nan
	}
	if !exact { // zero_method "wilcox": drop the zero differences
		nz := d[:0:0]
		for _, v := range d {
			if v != 0 {
				nz = append(nz, v)
			}
		}
		d = nz
	}
	abs := make([]float64, len(d))
	for i, v := range d {
		abs[i] = math.Abs(v)
	}
	ranks, ties := Ranks(abs)
	var wp, wm float64
	for i, v := range d {
		switch {
		case v > 0:
			wp += ranks[i]
		case v < 0:
			wm += ranks[i]
		}
	}
	n := len(d)
	r := WilcoxonResult{N: n, Zeros: zeros, WPlus: wp, T: math.Min(wp, wm), Exact: exact, Z: math.NaN()}
	if exact {
		r.P = wilcoxonExactP(n, int(wp))
		return r
	}
	m := float64(n)
	mean := m * (m + 1) / 4
	v := m * (m + 1) * (2*m + 1)
	for _, t := range ties {
		v -= 0.5 * float64(t*(t*t-1))
	}
	se := math.Sqrt(v / 24)
	if se == 0 {
		r.P = math.NaN()
		return r
	}
	r.Z = (r.T - mean) / se
	r.P = math.Min(1, 2*distuv.UnitNormal.Survival(math.Abs(r.Z)))
	return r
}

// wilcoxonExactP is the two-sided exact p-value of W+ = w for n untied ranks 1..n.
func wilcoxonExactP(n, w int) float64 {
	counts := wilcoxonCounts(n) // counts[k]: subsets of {1..n} with sum k
	maxW := len(counts) - 1
	if 2*w == maxW {
		return 1
	}
	var lo, hi, total float64
	for k, c := range counts {
		total += c
		if k <= w {
			lo += c
		}
		if k >= w {
			hi += c
		}
	}
	return math.Min(1, 2*math.Min(lo, hi)/total)
}

// wilcoxonCounts returns, for k = 0 … n(n+1)/2, the number of subsets of {1, …, n} whose sum is k
// (the null distribution of W+ times 2ⁿ), built one rank at a time.
func wilcoxonCounts(n int) []float64 {
	c := make([]float64, n*(n+1)/2+1)
	c[0] = 1
	top := 0
	for j := 1; j <= n; j++ {
		top += j
		for k := top; k >= j; k-- {
			c[k] += c[k-j]
		}
	}
	return c
}

// Ranks returns the 1-based average ranks of x (tied values share the mean of the ranks they
// span, scipy.stats.rankdata's "average") and the sizes of the tie groups larger than one.
func Ranks(x []float64) (ranks []float64, ties []int) {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
	ranks = make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of the ranks i+1 … j
		for k := i; k < j; k++ {
			ranks[idx[k]] = avg
		}
		if j-i > 1 {
			ties = append(ties, j-i)
		}
		i = j
	}
	return ranks, ties
}

// diffs is a − b element by element; unequal lengths are a programmer error.
func diffs(a, b []float64) []float64 {
	if len(a) != len(b) {
		panic("stats: paired samples of unequal length")
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}
