package stats

import "math"

// CohenD is the standardised difference of two independent groups' means,
// (ā − b̄) / s_pooled with s_pooled² = ((na−1)·sa² + (nb−1)·sb²) / (na + nb − 2).
// NaN with fewer than two values in a group or zero pooled spread.
func CohenD(a, b []float64) float64 {
	na, nb := len(a), len(b)
	if na < 2 || nb < 2 {
		return math.NaN()
	}
	sa, sb := Std(a), Std(b)
	s := math.Sqrt((float64(na-1)*sa*sa + float64(nb-1)*sb*sb) / float64(na+nb-2))
	if s == 0 {
		return math.NaN()
	}
	return (Mean(a) - Mean(b)) / s
}

// PairedD is the effect size of paired samples (Cohen's d_z): the mean of the differences
// d = a − b over their sample standard deviation, d̄ / s_d (= t / √n of the paired t-test).
// NaN with fewer than two pairs or when every difference is the same.
func PairedD(a, b []float64) float64 {
	d := diffs(a, b)
	if len(d) < 2 {
		return math.NaN()
	}
	s := Std(d)
	if s == 0 {
		return math.NaN()
	}
	return Mean(d) / s
}
