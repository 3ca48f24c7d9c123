package jobs

import (
	"fmt"
	"io"
	"strings"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/eval"
)

// The demo's summary leads with the measures that move on any model, even one too small for its
// answers to change: the completion NLL per token (how surprised the model is by the right
// answer) and, for classification tasks, balanced accuracy. Sample generations are chosen where
// the adapter changed the answer.

// Headline is the demo's first result line: the mean completion NLL per token before and after
// training ("" when the reports have no NLL).
func (r *DemoResult) Headline() string {
	b, a := r.Before.MeanNLL(), r.After.MeanNLL()
	if b == nil || a == nil {
		return ""
	}
	verdict := "the adapter learned"
	if !(*a < *b) {
		verdict = "the adapter did not learn"
	}
	return fmt.Sprintf("%s: completion NLL per token %.3f → %.3f (%+.0f%%), mean over %d tasks",
		verdict, *b, *a, 100*(*a-*b)/(*b), len(r.After.Tasks))
}

// meanOf averages a per-task metric over the tasks that have it (nil when none does).
func meanOf(rep *eval.Report, metric func(*eval.TaskScore) *float64) (float64, int) {
	var sum float64
	n := 0
	for _, t := range rep.Tasks {
		if v := metric(t); v != nil {
			sum += *v
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// WriteSummary prints the headline, the balanced accuracy and exact match of the tasks that have
// them, one line on why accuracy can stay flat, the per-task NLL, and the sample generations.
func (r *DemoResult) WriteSummary(w io.Writer) {
	if h := r.Headline(); h != "" {
		fmt.Fprintln(w, h)
	}
	bal := func(s *eval.TaskScore) *float64 { return s.BalancedAccuracy }
	exact := func(s *eval.TaskScore) *float64 { return s.ExactMatch }
	if b, n := meanOf(r.Before, bal); n > 0 {
		a, _ := meanOf(r.After, bal)
		fmt.Fprintf(w, "balanced accuracy %.1f%% → %.1f%% over %d classification tasks (50%% = always the same class)\n", b, a, n)
	}
	if b, n := meanOf(r.Before, exact); n > 0 {
		a, _ := meanOf(r.After, exact)
		fmt.Fprintf(w, "exact match %.1f%% → %.1f%% over %d generative tasks\n", b, a, n)
	}
	fmt.Fprintln(w, "why accuracy can stay near the majority class: a small model learns an answer's form and words")
	fmt.Fprintln(w, "(the NLL) long before it can tell the classes apart; a larger model (--model) moves its scores too.")
	fmt.Fprintln(w, "\nper task, completion NLL per token (lower is better):")
	for _, name := range r.After.TaskNames() {
		b, a := r.Before.Tasks[name], r.After.Tasks[name]
		if b == nil || b.NLL == nil || a.NLL == nil {
			continue
		}
		fmt.Fprintf(w, "  %-10s %7.3f → %7.3f\n", name, *b.NLL, *a.NLL)
	}
	if len(r.Samples) > 0 {
		fmt.Fprintln(w, "\nsample answers, picked where training moved them most (greedy decoding):")
	}
	for _, sm := range r.Samples {
		fmt.Fprintf(w, "  [%s] %s\n    expected:%s\n    before:  %q\n    after:   %q\n", sm.Task, lastLines(sm.Input, 2), sm.Want, sm.Before, sm.After)
	}
}

// lastLines returns the last n lines of s joined by " / " (the input and answer cue of a prompt),
// cut to 100 characters.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, " / ")
	if r := []rune(out); len(r) > 100 {
		out = "…" + string(r[len(r)-99:])
	}
	return out
}

// sampleCandidates picks up to perTask generative rows of each task, in file order, as
// candidates for the sample generations.
func sampleCandidates(rows []data.Row, perTask int) []Sample {
	var out []Sample
	count := map[string]int{}
	for _, r := range rows {
		if !r.HasPrompt || len(r.Choices) > 0 || count[r.Task] >= perTask {
			continue
		}
		count[r.Task]++
		out = append(out, Sample{Task: r.Task, Input: r.Prompt, Want: r.Completion})
	}
	return out
}

// visibleSamples keeps at most n samples, preferring (at most one per task) those whose answer
// after training is closer to the expected one than before (a longer common prefix), then those
// that changed at all, then the rest.
func visibleSamples(cands []Sample, n int) []Sample {
	prefix := func(a, b string) int {
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	rank := func(s Sample) int {
		switch {
		case prefix(s.After, s.Want) > prefix(s.Before, s.Want):
			return 0
		case s.After != s.Before:
			return 1
		}
		return 2
	}
	var out []Sample
	used := map[string]bool{}
	for level := 0; level <= 2 && len(out) < n; level++ {
		for _, s := range cands {
			if len(out) < n && rank(s) == level && !used[s.Task] {
				used[s.Task] = true
				out = append(out, s)
			}
		}
	}
	return out
}
