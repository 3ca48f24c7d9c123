package stats

import (
	"math"
	"testing"
)

func TestBootstrapOfConstantScoresHasZeroWidth(t *testing.T) {
	iv := BootstrapMeanOfMeans([][]float64{{1, 1, 1}, {0, 0}}, 500, 0.95, 1)
	if iv.Estimate != 0.5 || iv.Lo != 0.5 || iv.Hi != 0.5 {
		t.Errorf("interval %+v, want exactly 0.5 everywhere (each task constant)", iv)
	}
}

func TestBootstrapOfTwoExamplesSpansTheirRange(t *testing.T) {
	// Hand-computed: resampling {0, 1} twice gives means 0, ½, 1 with probability ¼, ½, ¼, so
	// the 2.5% and 97.5% quantiles of many resamples are 0 and 1.
	iv := BootstrapMeanOfMeans([][]float64{{0, 1}}, 4000, 0.95, 7)
	if iv.Estimate != 0.5 || iv.Lo != 0 || iv.Hi != 1 {
		t.Errorf("interval %+v, want [0, 1] around 0.5", iv)
	}
}

func TestBootstrapIsReproducibleAndCoversTheEstimate(t *testing.T) {
	strata := [][]float64{{1, 0, 1, 1, 0, 1, 0, 1, 1, 1}, {0, 0, 1, 0, 0, 1, 0, 0}}
	a := BootstrapMeanOfMeans(strata, 1000, 0.9, 3)
	b := BootstrapMeanOfMeans(strata, 1000, 0.9, 3)
	if a != b {
		t.Errorf("same seed, different intervals: %+v, %+v", a, b)
	}
	if !(a.Lo < a.Estimate && a.Estimate < a.Hi) {
		t.Errorf("interval %+v does not cover its estimate", a)
	}
	// Stratified: the estimate is the mean of the task means (0.7 and 0.25), not of all examples.
	if !near(a.Estimate, (0.7+0.25)/2, 1e-15) {
		t.Errorf("estimate %v, want 0.475", a.Estimate)
	}
	// A wider level gives a wider interval from the same resamples.
	w := BootstrapMeanOfMeans(strata, 1000, 0.99, 3)
	if !(w.Lo <= a.Lo && w.Hi >= a.Hi) {
		t.Errorf("99%% interval %+v inside the 90%% one %+v", w, a)
	}
	if iv := BootstrapMeanOfMeans(nil, 10, 0.95, 1); !math.IsNaN(iv.Lo) {
		t.Errorf("no examples: %+v, want NaN", iv)
	}
}

func TestQuantileInterpolatesLikeNumpy(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	// numpy.quantile([1,2,3,4], [0, .25, .5, 1]) = 1, 1.75, 2.5, 4 (position q·(n−1)).
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 1.75}, {0.5, 2.5}, {1, 4}} {
		if got := Quantile(x, c.q); !near(got, c.want, 1e-15) {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestMeanIntervalMatchesScipy(t *testing.T) {
	// scipy 1.10.1: stats.t.ppf(0.975, 4) = 2.7764451051977987; x = 1..5: mean 3, s = √2.5.
	iv := MeanInterval([]float64{1, 2, 3, 4, 5}, 0.95)
	h := 2.7764451051977987 * math.Sqrt(2.5) / math.Sqrt(5)
	if !near(iv.Lo, 3-h, 1e-9) || !near(iv.Hi, 3+h, 1e-9) {
		t.Errorf("MeanInterval = %+v, want 3 ± %v", iv, h)
	}
}
