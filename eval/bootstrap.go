package eval

import "github.com/moslora/moslora/stats"

// BootstrapAvgScore is the percentile bootstrap interval of the run's avg_score over its test
// examples: every task's rows are resampled with replacement (stratified by task, so each task
// keeps its weight in the mean) and avg_score recomputed (stats.BootstrapMeanOfMeans). ok is false
// when the report holds no per-row scores (written before eval kept them).
func (r *Report) BootstrapAvgScore(resamples int, level float64, seed uint64) (iv stats.Interval, ok bool) {
	var strata [][]float64
	for _, name := range r.TaskNames() { // sorted: the draws do not depend on map order
		t := r.Tasks[name]
		if t.MainScore() == nil {
			continue
		}
		v := t.MainScores()
		if v == nil {
			return stats.Interval{}, false
		}
		strata = append(strata, v)
	}
	if len(strata) == 0 {
		return stats.Interval{}, false
	}
	return stats.BootstrapMeanOfMeans(strata, resamples, level, seed), true
}
