package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/internal/atomicfile"
	"github.com/moslora/moslora/stats"
	"gonum.org/v1/plot/vg"
)

// Options tunes Write.
type Options struct {
	Out   string // report folder
	Force bool   // overwrite an existing report.md
}

// Level is the confidence level of every interval in the report.
const Level = 0.95

// ReportMetrics are the scores the report tabulates, in order.
var ReportMetrics = []string{"avg_score", "balanced_score", "nll"}

// File is the report's Markdown file.
const File = "report.md"

// Write writes report.md and its figures into opt.Out.
func Write(s *Sweep, opt Options) error {
	if opt.Out == "" {
		return fmt.Errorf("report: --out is required")
	}
	mdPath := filepath.Join(opt.Out, File)
	if _, err := os.Stat(mdPath); err == nil && !opt.Force {
		return fmt.Errorf("report: %s exists; use --force to overwrite it or choose another --out", mdPath)
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	figure := func(name, alt string) {
		w("![%s](%s.svg)\n\n(also [%s.png](%s.png))\n\n", alt, name, name, name)
	}
	ref := s.Groups[0].Name

	w("# Sweep report\n\n")
	w("Sweep folder `%s`; model `%s`; training data `%s`; evaluation data `%s`.\n\n", s.Dir, s.Inputs.Model, s.Inputs.Data, s.Inputs.Eval)
	w("Every test compares a group with the reference group `%s`, two-sided. Runs of the same seed share the "+
		"initialisation draw and the data order, so the paired tests (paired t, Wilcoxon signed-rank as scipy's "+
		"defaults compute it, d_z) use the seeds both groups ran; Welch's t, Mann–Whitney and Cohen's d treat the "+
		"groups as independent samples.\n\n", ref)

	w("## Runs\n\n| group | method | settings of its own | seeds | runs | trainable parameters |\n|---|---|---|---|---:|---:|\n")
	own := OwnSettings(s.Groups)
	for i, g := range s.Groups {
		var seeds []string
		for _, r := range g.Runs {
			seeds = append(seeds, fmt.Sprint(r.Cell.Seed))
		}
		w("| %s | %s: %s | %s | %s | %d | %d |\n", g.Name, g.Method, MethodDoc(g.Method), own[i], strings.Join(seeds, ", "), len(g.Runs), g.Runs[0].Info.Trainable)
	}
	if len(s.Unfinished) > 0 {
		w("\nUnfinished cells (no eval.json, left out): %s.\n", strings.Join(s.Unfinished, ", "))
	}
	w("\n")

	groups := s.EvalGroups()
	for _, name := range ReportMetrics {
		m, _ := eval.MetricByName(name)
		c, err := eval.Compare(groups, eval.CompareOptions{Metric: m})
		if err != nil {
			w("## %s\n\nNot available: %v\n\n", name, err)
			continue
		}
		f := m.Format
		w("## %s\n\n%s.\n\n| group | runs | mean | std | min | max |\n|---|---:|---:|---:|---:|---:|\n", name, upper(m.About))
		for _, g := range c.Groups {
			w("| %s | %d | "+f+" | %s | "+f+" | "+f+" |\n", g.Name, g.Runs, g.Mean, ptr(g.Std, f), g.Min, g.Max)
		}
		if len(c.Tests) > 0 {
			w("\nAgainst `%s` (rank-test p-values marked approx. come from the normal approximation, else exact):\n\n| group | Δ mean | paired seeds | Δ paired | paired t p | Wilcoxon p | d_z | Welch p | Mann–Whitney p | Cohen's d |\n"+
				"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", ref)
			sf := "%+" + f[1:]
			for _, t := range c.Tests {
				w("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", t.B, eval.FormatNum(t.Diff, sf), t.Paired,
					eval.FormatNum(t.PairedDiff, sf), eval.FormatNum(t.PairedP, "%.3g"), rankP(t.WilcoxonP, t.ExactWilcoxon),
					eval.FormatNum(t.PairedD, "%.2f"), eval.FormatNum(t.WelchP, "%.3g"), rankP(t.MannWhitneyP, t.ExactRankTest),
					eval.FormatNum(t.CohenD, "%.2f"))
			}
		}
		if tasks := taskNames(s); len(tasks) > 0 {
			w("\nPer task, mean ± std over runs:\n\n| group | %s |\n|---|%s\n", strings.Join(tasks, " | "), strings.Repeat("---:|", len(tasks)))
			for _, g := range c.Groups {
				w("| %s |", g.Name)
				for _, t := range tasks {
					if ts, ok := g.Tasks[t]; ok {
						w(" "+f+" ± %s |", ts.Mean, ptr(ts.Std, f))
					} else {
						w(" - |")
					}
				}
				w("\n")
			}
		}
		w("\n")
		vals := make([][]float64, len(groups))
		for i, g := range groups {
			vals[i], _ = g.Values(m)
		}
		fig := "scores-" + name
		if err := save(ScorePlot(s.Groups, vals, name), 6*vg.Inch, 4*vg.Inch, opt.Out, fig); err != nil {
			return err
		}
		figure(fig, name+" per run")
	}

	// Per task: the headline score with a Student-t interval over seeds.
	tasks := taskNames(s)
	if len(tasks) > 0 {
		w("## Per task\n\nAccuracy (choice tasks) or exact match (%%) per task: mean over seeds [%g%% Student-t interval; n/a with one run].\n\n", 100*Level)
		w("| group | %s |\n|---|%s\n", strings.Join(tasks, " | "), strings.Repeat("---:|", len(tasks)))
		iv := TaskIntervals(s, tasks)
		for gi, g := range s.Groups {
			w("| %s |", g.Name)
			for ti := range tasks {
				in := iv[gi][ti]
				if math.IsNaN(in.Estimate) {
					w(" - |")
					continue
				}
				w(" %.1f [%s, %s] |", in.Estimate, eval.FormatNum(in.Lo, "%.1f"), eval.FormatNum(in.Hi, "%.1f"))
			}
			w("\n")
		}
		w("\n")
		if err := save(TaskPlot(s.Groups, tasks, iv, fmt.Sprintf("per task: mean over seeds, %g%% t-interval", 100*Level)), 7*vg.Inch, 4*vg.Inch, opt.Out, "tasks"); err != nil {
			return err
		}
		figure("tasks", "per-task scores")
	}

	// Per run: each run's scores and the bootstrap interval over its test examples.
	w("## Per run\n\navg_score with its %g%% bootstrap interval over the test examples (%d resamples, stratified by task; "+
		"n/a for eval.json files without per-row scores), balanced_score, NLL, and the training run's final loss and updates.\n\n",
		100*Level, eval.BootstrapResamples)
	w("| run | seed | avg_score | interval | balanced_score | nll | final loss | updates |\n|---|---:|---:|---|---:|---:|---:|---:|\n")
	bal, _ := eval.MetricByName("balanced_score")
	nll, _ := eval.MetricByName("nll")
	for _, g := range s.Groups {
		for _, r := range g.Runs {
			ci := "n/a"
			if in, ok := r.Eval.BootstrapAvgScore(eval.BootstrapResamples, Level, uint64(r.Cell.Seed)); ok {
				ci = fmt.Sprintf("[%.2f, %.2f]", in.Lo, in.Hi)
			}
			w("| %s | %d | %s | %s | %s | %s | %.4f | %d |\n", r.Cell.Name, r.Cell.Seed, ptr(r.Eval.AvgScore, "%.2f"), ci,
				ptr(bal.Of(r.Eval), "%.2f"), ptr(nll.Of(r.Eval), "%.4f"), r.Info.FinalLoss, r.Info.Steps)
		}
	}
	w("\n## Training loss\n\n")
	if p := LossPlot(s.Groups); p != nil {
		if err := save(p, 7*vg.Inch, 4*vg.Inch, opt.Out, "loss"); err != nil {
			return err
		}
		figure("loss", "training loss")
	} else {
		w("No run logged its loss (metrics.jsonl is empty or missing).\n\n")
	}

	w("## Mixers\n\n")
	anyDense, anyGlobal, anyGated, anyTasks := false, false, false, false
	for _, g := range s.Groups {
		if mv, ok, err := DenseSpectra(g.Runs); err != nil {
			return err
		} else if ok {
			anyDense = true
			name := "spectrum-" + safeName(g.Name)
			if err := save(HeatmapPlot(mv, g.Name+": dense mixer singular values, mean over seeds", "singular value (descending)"), 6*vg.Inch, heatHeight(mv), opt.Out, name); err != nil {
				return err
			}
			w("Dense mixer (`lora_AB`) of `%s`: singular values per layer and module, averaged over its runs.\n\n", g.Name)
			figure(name, g.Name+" mixer spectrum")
		}
		if mv, ok, err := GlobalWeights(g.Runs); err != nil {
			return err
		} else if ok {
			anyGlobal = true
			name := "global-" + safeName(g.Name)
			if err := save(HeatmapPlot(mv, g.Name+": subspace weights softmax(π), mean over seeds", "subspace"), 6*vg.Inch, heatHeight(mv), opt.Out, name); err != nil {
				return err
			}
			w("Global mixer of `%s`: the subspace weights softmax(π) per layer and module, averaged over its runs.\n\n", g.Name)
			figure(name, g.Name+" subspace weights")
		}
		if mv, ok := GateUsageByModule(g.Runs); ok {
			anyGated = true
			name := "gates-" + safeName(g.Name)
			if err := save(HeatmapPlot(mv, g.Name+": mean gate per subspace, last tenth of training, mean over seeds", "subspace"), 6*vg.Inch, heatHeight(mv), opt.Out, name); err != nil {
				return err
			}
			w("Gated mixer of `%s`: each module's mean gate per subspace (metrics.jsonl `gate_usage_modules`) over the last tenth of each run's updates, averaged over its runs. Uniform gates are 1/K in every cell; a collapsed module has one dark column.\n\n", g.Name)
			figure(name, g.Name+" gate usage")
		}
		if mv, ok := GateUsageByTask(g.Runs); ok {
			anyTasks = true
			name := "gates-tasks-" + safeName(g.Name)
			if err := save(HeatmapPlot(mv, g.Name+": mean gate per subspace on each task's evaluation rows, mean over seeds", "subspace"), 6*vg.Inch, heatHeight(mv), opt.Out, name); err != nil {
				return err
			}
			w("Routing by task of `%s`: the trained gates' mean weight per subspace over each task's evaluation rows (`%s`, all gated modules), averaged over its runs. Rows that differ mean the gates route the tasks to different subspaces; equal rows mean they do not.\n\n", g.Name, GateFile)
			figure(name, g.Name+" gate usage per task")
		}
	}
	if !anyDense {
		w("No run with a dense mixer (MoSLoRA) in this sweep: no singular-value spectrum.\n\n")
	}
	if !anyGlobal {
		w("No run with a global mixer in this sweep: no subspace weights.\n\n")
	}
	if anyGated {
		if mv, ok := GateUsageByRun(s.Groups); ok {
			if err := save(HeatmapPlot(mv, "mean gate per subspace over all gated modules, last tenth of training", "subspace"), 6*vg.Inch, heatHeight(mv), opt.Out, "gates-runs"); err != nil {
				return err
			}
			w("Gate usage per run (metrics.jsonl `gate_usage`: the mean over every gated module), over the last tenth of its updates.\n\n")
			figure("gates-runs", "gate usage per run")
		}
		if p := EntropyPlot(s.Groups); p != nil {
			if err := save(p, 7*vg.Inch, 4*vg.Inch, opt.Out, "gate-entropy"); err != nil {
				return err
			}
			w("Gate entropy per update (metrics.jsonl `gate_entropy`: the mean per-token entropy of the gates, averaged over the gated modules), mean over each group's runs. It starts at ln K (uniform gates); a fall towards zero means the gates route each token to a single subspace.\n\n")
			figure("gate-entropy", "gate entropy")
		}
		if !anyTasks {
			w("No gated run measured its gates per task (`%s` is written with an evaluation file): no per-task routing figure.\n\n", GateFile)
		}
	} else {
		w("No run in this sweep logged gate usage (no gated mixer): no gate figures.\n\n")
	}
	if err := atomicfile.WriteFile(mdPath, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: writing %s: %w", mdPath, err)
	}
	return nil
}

// TaskIntervals is, per group and task, the mean over runs of the task's headline score with its
// Student-t interval at Level (NaN estimate when no run has the task).
func TaskIntervals(s *Sweep, tasks []string) [][]stats.Interval {
	out := make([][]stats.Interval, len(s.Groups))
	for gi, g := range s.Groups {
		out[gi] = make([]stats.Interval, len(tasks))
		for ti, t := range tasks {
			var v []float64
			for _, r := range g.Runs {
				if ts, ok := r.Eval.Tasks[t]; ok && ts.MainScore() != nil {
					v = append(v, *ts.MainScore())
				}
			}
			out[gi][ti] = stats.MeanInterval(v, Level)
		}
	}
	return out
}

// taskNames are the tasks of every run, sorted.
func taskNames(s *Sweep) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range s.Groups {
		for _, r := range g.Runs {
			for name, t := range r.Eval.Tasks {
				if t.MainScore() != nil && !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func heatHeight(mv ModuleValues) vg.Length {
	return vg.Length(math.Max(3, 0.18*float64(len(mv.Modules))+1.2)) * vg.Inch
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

func ptr(p *float64, f string) string {
	if p == nil {
		return "n/a"
	}
	return eval.FormatNum(*p, f)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// rankP prints a rank test's p-value, marked when it comes from the normal approximation.
func rankP(p float64, exact bool) string {
	s := eval.FormatNum(p, "%.3g")
	if !exact && s != "n/a" {
		s += " (approx.)"
	}
	return s
}
