package stats

import (
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a confidence interval [Lo, Hi] at confidence Level (e.g. 0.95) around Estimate.
type Interval struct {
	Estimate, Lo, Hi, Level float64
}

// BootstrapMeanOfMeans is the percentile bootstrap interval of the mean over strata of each
// stratum's mean — avg_score is exactly this statistic, with the tasks as strata and one score
// per test example. Each of the resamples draws every stratum's examples with replacement
// (stratified: a stratum keeps its size, so each task keeps its weight) and recomputes the
// statistic; Lo and Hi are the (1−level)/2 and (1+level)/2 quantiles (linear interpolation
// between order statistics, numpy's default) of the resampled statistics. The draws come from a
// PCG generator seeded with seed, so the interval is reproducible.
//
// Empty strata are ignored; NaN interval with no examples at all or resamples < 1.
func BootstrapMeanOfMeans(strata [][]float64, resamples int, level float64, seed uint64) Interval {
	var kept [][]float64
	for _, s := range strata {
		if len(s) > 0 {
			kept = append(kept, s)
		}
	}
	nan := Interval{math.NaN(), math.NaN(), math.NaN(), level}
	if len(kept) == 0 || resamples < 1 || !(level > 0 && level < 1) {
		return nan
	}
	stat := func(pick func(s []float64) float64) float64 {
		var sum float64
		for _, s := range kept {
			sum += pick(s)
		}
		return sum / float64(len(kept))
	}
	iv := Interval{Estimate: stat(Mean), Level: level}
	rng := rand.New(rand.NewPCG(seed, 0x6d6f736c6f7261)) // "moslora"
	resample := func(s []float64) float64 {
		var sum float64
		for range s {
			sum += s[rng.IntN(len(s))]
		}
		return sum / float64(len(s))
	}
	vals := make([]float64, resamples)
	for i := range vals {
		vals[i] = stat(resample)
	}
	sort.Float64s(vals)
	iv.Lo, iv.Hi = Quantile(vals, (1-level)/2), Quantile(vals, (1+level)/2)
	return iv
}

// Quantile is the q-quantile of sorted values with linear interpolation between order statistics
// (numpy.quantile's default "linear": position q·(n−1)). NaN for no values.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	pos := q * float64(n-1)
	i := int(math.Floor(pos))
	if i >= n-1 {
		return sorted[n-1]
	}
	if i < 0 {
		return sorted[0]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}

// MeanInterval is the two-sided Student-t confidence interval of the mean of x at the given level:
// x̄ ± t_{(1+level)/2, n−1} · s/√n. NaN bounds with fewer than two values.
func MeanInterval(x []float64, level float64) Interval {
	iv := Interval{Estimate: Mean(x), Lo: math.NaN(), Hi: math.NaN(), Level: level}
	if len(x) < 2 {
		return iv
	}
	h := tQuantile((1+level)/2, float64(len(x)-1)) * Std(x) / math.Sqrt(float64(len(x)))
	iv.Lo, iv.Hi = iv.Estimate-h, iv.Estimate+h
	return iv
}

// tQuantile is the p-quantile of Student's t distribution with df degrees of freedom.
func tQuantile(p, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}
