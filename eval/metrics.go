package eval

import (
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"
)

// TaskScore is one task's line of the report. Pointers are nil (null in JSON) when no row measures
// the metric.
type TaskScore struct {
	N                int      `json:"n"`
	NLL              *float64 `json:"nll"`
	Accuracy         *float64 `json:"accuracy"`
	BalancedAccuracy *float64 `json:"balanced_accuracy"`
	ExactMatch       *float64 `json:"exact_match"`
	// Examples holds the per-row scores the metrics above are means of (absent in reports written
	// before it existed; readers must allow nil).
	Examples *Examples `json:"examples,omitempty"`
}

// Examples are one task's per-row scores, each list in the order of the task's rows in the file,
// so two runs on the same test file can be paired row by row:
//
//	nll = Σ nll_sum / Σ tokens,  accuracy = 100·mean(correct),  exact_match = 100·mean(exact)
type Examples struct {
	NLLSum  []float64 `json:"nll_sum"`           // every row: Σ −log p over its scored tokens
	Tokens  []int     `json:"tokens"`            // every row: its scored tokens
	Correct []int     `json:"correct,omitempty"` // choice rows: 1 when the argmax choice is the truth, else 0
	Class   []string  `json:"class,omitempty"`   // choice rows: the truth (the class of balanced accuracy)
	Exact   []int     `json:"exact,omitempty"`   // generative prompt rows: 1 on an exact match, else 0
}

// MainScores are the per-row scores (0 or 100) whose mean is MainScore: the choice rows'
// correctness for a task with choice rows, else the generative rows' exact matches (nil when the
// report holds no per-row scores or neither applies).
func (s *TaskScore) MainScores() []float64 {
	if s.Examples == nil {
		return nil
	}
	v := s.Examples.Correct
	if s.Accuracy == nil {
		v = s.Examples.Exact
	}
	out := make([]float64, len(v))
	for i, c := range v {
		out[i] = 100 * float64(c)
	}
	return out
}

// Report is the whole result, in the JSON shape of `moslora eval --json`.
type Report struct {
	Tasks    map[string]*TaskScore `json:"tasks"`
	AvgScore *float64              `json:"avg_score"`
}

// tally accumulates one task's counts.
type tally struct {
	n                int
	nllSum           float64 // Σ -log p over scored tokens
	nllTokens        int
	choiceN, correct int
	classN, classOK  map[string]int // per true class: rows, correct rows
	genN, exact      int
	ex               Examples // the same, row by row
}

func (t *tally) addNLL(sum float64, tokens int) {
	t.nllSum += sum
	t.nllTokens += tokens
	t.ex.NLLSum = append(t.ex.NLLSum, sum)
	t.ex.Tokens = append(t.ex.Tokens, tokens)
}

func (t *tally) addChoice(truth string, ok bool) {
	if t.classN == nil {
		t.classN, t.classOK = map[string]int{}, map[string]int{}
	}
	t.choiceN++
	t.classN[truth]++
	t.ex.Correct = append(t.ex.Correct, b2i(ok))
	t.ex.Class = append(t.ex.Class, truth)
	if ok {
		t.correct++
		t.classOK[truth]++
	}
}

func (t *tally) addGen(ok bool) {
	t.genN++
	t.ex.Exact = append(t.ex.Exact, b2i(ok))
	if ok {
		t.exact++
	}
}

func b2i(ok bool) int {
	if ok {
		return 1
	}
	return 0
}

func pct(num, den int) *float64 {
	v := 100 * float64(num) / float64(den)
	return &v
}

// score turns the counts into a TaskScore.
func (t *tally) score() *TaskScore {
	ex := t.ex
	s := &TaskScore{N: t.n, Examples: &ex}
	if t.nllTokens > 0 {
		v := t.nllSum / float64(t.nllTokens)
		s.NLL = &v
	}
	if t.choiceN > 0 {
		s.Accuracy = pct(t.correct, t.choiceN)
		var sum float64
		for c, n := range t.classN {
			sum += float64(t.classOK[c]) / float64(n)
		}
		v := 100 * sum / float64(len(t.classN))
		s.BalancedAccuracy = &v
	}
	if t.genN > 0 {
		s.ExactMatch = pct(t.exact, t.genN)
	}
	return s
}

// MeanNLL is the mean over tasks of the completion NLL per token (nil when no task has one): the
// signal that moves first when a model is too small for its accuracy to move.
func (r *Report) MeanNLL() *float64 {
	var sum float64
	n := 0
	for _, t := range r.Tasks {
		if t.NLL != nil {
			sum += *t.NLL
			n++
		}
	}
	if n == 0 {
		return nil
	}
	m := sum / float64(n)
	return &m
}

// MainScore is the task's headline number: accuracy for choice tasks, else exact match (nil if
// neither applies).
func (s *TaskScore) MainScore() *float64 {
	if s.Accuracy != nil {
		return s.Accuracy
	}
	return s.ExactMatch
}

// finish builds the report from per-task tallies.
func finish(tallies map[string]*tally) *Report {
	r := &Report{Tasks: map[string]*TaskScore{}}
	var sum float64
	n := 0
	for name, t := range tallies {
		s := t.score()
		r.Tasks[name] = s
		if m := s.MainScore(); m != nil {
			sum += *m
			n++
		}
	}
	if n > 0 {
		v := sum / float64(n)
		r.AvgScore = &v
	}
	return r
}

// TaskNames returns the task names in sorted order.
func (r *Report) TaskNames() []string {
	names := make([]string, 0, len(r.Tasks))
	for k := range r.Tasks {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// WriteTable prints the report as an aligned table with an overall line.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\tn\tnll\taccuracy\tbal.acc\texact\t")
	f := func(p *float64, prec int) string {
		if p == nil || math.IsNaN(*p) {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, *p)
	}
	total := 0
	for _, name := range r.TaskNames() {
		s := r.Tasks[name]
		total += s.N
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", name, s.N, f(s.NLL, 3), f(s.Accuracy, 1), f(s.BalancedAccuracy, 1), f(s.ExactMatch, 1))
	}
	fmt.Fprintf(tw, "avg_score\t%d\t\t\t\t%s\t\n", total, f(r.AvgScore, 2))
	return tw.Flush()
}
