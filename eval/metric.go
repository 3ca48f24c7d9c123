package eval

import (
	"fmt"
	"strings"
)

// Metric is one way to score a run (a Report) and each of its tasks.
type Metric struct {
	Name   string
	Lower  bool   // lower is better (NLL)
	Format string // how a value prints: "%.2f" for percentages, "%.3f" for nats per token
	About  string // one line for --help
	run    func(*Report) *float64
	task   func(*TaskScore) *float64
}

// Of is the run's value (nil when the report has nothing to measure it).
func (m Metric) Of(r *Report) *float64 { return m.run(r) }

// OfTask is the task's value (nil when the task has nothing to measure it).
func (m Metric) OfTask(s *TaskScore) *float64 { return m.task(s) }

// Metrics are the scores compare and report accept, the first being the default.
var Metrics = []Metric{
	{Name: "avg_score", Format: "%.2f", About: "mean over tasks of accuracy (choice tasks) or exact match (%)",
		run: func(r *Report) *float64 { return r.AvgScore }, task: (*TaskScore).MainScore},
	{Name: "balanced_score", Format: "%.2f", About: "mean over tasks of balanced accuracy (choice tasks) or exact match (%)",
		run: func(r *Report) *float64 { return meanOverTasks(r, balancedOrExact) }, task: balancedOrExact},
	{Name: "nll", Lower: true, Format: "%.4f", About: "mean over tasks of the completion NLL per token (nats, lower is better)",
		run: (*Report).MeanNLL, task: func(s *TaskScore) *float64 { return s.NLL }},
	{Name: "accuracy", Format: "%.2f", About: "mean accuracy over the choice tasks (%)",
		run: func(r *Report) *float64 { return meanOverTasks(r, accuracy) }, task: accuracy},
	{Name: "exact_match", Format: "%.2f", About: "mean exact match over the generative tasks (%)",
		run: func(r *Report) *float64 { return meanOverTasks(r, exactMatch) }, task: exactMatch},
}

// MetricByName finds a metric; the error lists the valid names.
func MetricByName(name string) (Metric, error) {
	var names []string
	for _, m := range Metrics {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return Metric{}, fmt.Errorf("--metric %q: expected one of %s", name, strings.Join(names, ", "))
}

func accuracy(s *TaskScore) *float64   { return s.Accuracy }
func exactMatch(s *TaskScore) *float64 { return s.ExactMatch }

func balancedOrExact(s *TaskScore) *float64 {
	if s.BalancedAccuracy != nil {
		return s.BalancedAccuracy
	}
	return s.ExactMatch
}

// meanOverTasks averages f over the tasks where it is defined (nil when none).
func meanOverTasks(r *Report, f func(*TaskScore) *float64) *float64 {
	var sum float64
	n := 0
	for _, t := range r.Tasks {
		if v := f(t); v != nil {
			sum += *v
			n++
		}
	}
	if n == 0 {
		return nil
	}
	m := sum / float64(n)
	return &m
}
