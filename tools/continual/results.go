package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/moslora/moslora/eval"
)

// score is one task's scores from one eval file (nil: the file is missing).
type score struct {
	N      int      `json:"n"`
	NLL    *float64 `json:"nll"`
	Acc    *float64 `json:"accuracy"`
	BalAcc *float64 `json:"balanced_accuracy"`
}

// results are every score the driver measured: Scores[approach][k-1][task] after the k-th task.
type results struct {
	Tasks    []string                       `json:"tasks"`
	Settings map[string]any                 `json:"settings"`
	Base     map[string]*score              `json:"base"`
	Scores   map[string][]map[string]*score `json:"scores"`
}

var approaches = []string{apExtend, apSequential, apSeparate}

// readScore reads task t's scores from an eval file (nil when it does not exist yet).
func readScore(path, t string) (*score, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r eval.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	ts := r.Tasks[t]
	if ts == nil {
		return nil, fmt.Errorf("%s: no task %s", path, t)
	}
	return &score{N: ts.N, NLL: ts.NLL, Acc: ts.Accuracy, BalAcc: ts.BalancedAccuracy}, nil
}

// collect reads every eval file present.
func (s *settings) collect() (*results, error) {
	res := &results{Tasks: s.tasks, Base: map[string]*score{}, Scores: map[string][]map[string]*score{},
		Settings: map[string]any{"model": s.model, "rank": s.rank, "alpha": s.alpha, "steps": s.steps, "batch": s.batch,
			"limit": s.limit, "warmup": s.warmup, "lr": s.lr, "seed": s.seed, "eval_limit": s.evalLimit, "threads": s.threads}}
	for _, t := range s.tasks {
		sc, err := readScore(s.evalFile("", 0, t), t)
		if err != nil {
			return nil, err
		}
		res.Base[t] = sc
	}
	for _, ap := range approaches {
		for k := 1; k <= len(s.tasks); k++ {
			row := map[string]*score{}
			for j := 1; j <= k; j++ {
				t := s.tasks[j-1]
				kk := k
				if ap == apSeparate {
					kk = j // each task by its own adapter
				}
				sc, err := readScore(s.evalFile(ap, kk, t), t)
				if err != nil {
					return nil, err
				}
				row[t] = sc
			}
			res.Scores[ap] = append(res.Scores[ap], row)
		}
	}
	return res, nil
}

func f3(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", *p)
}

func f1(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f", *p)
}

// forgetting is the mean over the tasks before the last of (value after the last task − value
// right after training that task), and the number of tasks it averages; NaN when a value is
// missing.
func (r *results) forgetting(ap string, get func(*score) *float64) float64 {
	n := len(r.Tasks)
	sum := 0.0
	for j := 1; j < n; j++ {
		t := r.Tasks[j-1]
		a, b := r.Scores[ap][n-1][t], r.Scores[ap][j-1][t]
		if a == nil || b == nil || get(a) == nil || get(b) == nil {
			return math.NaN()
		}
		sum += *get(a) - *get(b)
	}
	return sum / float64(n-1)
}

// final is the mean over every task of its value after the last task.
func (r *results) final(ap string, get func(*score) *float64) float64 {
	n := len(r.Tasks)
	sum := 0.0
	for _, t := range r.Tasks {
		a := r.Scores[ap][n-1][t]
		if a == nil || get(a) == nil {
			return math.NaN()
		}
		sum += *get(a)
	}
	return sum / float64(n)
}

func nll(s *score) *float64    { return s.NLL }
func acc(s *score) *float64    { return s.Acc }
func balAcc(s *score) *float64 { return s.BalAcc }

func fnum(v float64, prec int, sign bool) string {
	if math.IsNaN(v) {
		return "–"
	}
	if sign {
		return fmt.Sprintf("%+.*f", prec, v)
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// ownSettings returns the settings recorded in dir/results.json (a run's own, e.g. its seed), or
// def with the seed marked unknown when there is none (run --report-only in dir to write it).
func ownSettings(dir string, def map[string]any) map[string]any {
	var r struct {
		Runs []results `json:"runs"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil || json.Unmarshal(b, &r) != nil || len(r.Runs) == 0 || r.Runs[0].Settings == nil {
		own := map[string]any{}
		for k, v := range def {
			own[k] = v
		}
		own["seed"] = "unknown (" + dir + ")"
		return own
	}
	return r.Runs[0].Settings
}

// mean averages runs cell by cell: a cell is the mean of its values when every run has it.
func mean(runs []*results) *results {
	if len(runs) == 1 {
		return runs[0]
	}
	avg := func(get func(*results) *score) *score {
		var out score
		var sn, sa, sb float64
		for _, r := range runs {
			sc := get(r)
			if sc == nil || sc.NLL == nil || sc.Acc == nil || sc.BalAcc == nil {
				return nil
			}
			out.N = sc.N
			sn, sa, sb = sn+*sc.NLL, sa+*sc.Acc, sb+*sc.BalAcc
		}
		k := float64(len(runs))
		sn, sa, sb = sn/k, sa/k, sb/k
		out.NLL, out.Acc, out.BalAcc = &sn, &sa, &sb
		return &out
	}
	m := &results{Tasks: runs[0].Tasks, Base: map[string]*score{}, Scores: map[string][]map[string]*score{}}
	for _, t := range m.Tasks {
		m.Base[t] = avg(func(r *results) *score { return r.Base[t] })
	}
	for _, ap := range approaches {
		for k := range runs[0].Scores[ap] {
			row := map[string]*score{}
			for t := range runs[0].Scores[ap][k] {
				row[t] = avg(func(r *results) *score { return r.Scores[ap][k][t] })
			}
			m.Scores[ap] = append(m.Scores[ap], row)
		}
	}
	return m
}

// label names a run by its seed.
func label(r *results) string {
	return fmt.Sprintf("seed %v", r.Settings["seed"])
}

// markdown renders the tables: the cells of the mean over runs, and the summary of each run and
// of the mean.
func markdown(s *settings, runs []*results) string {
	var b strings.Builder
	r := mean(runs)
	n := len(r.Tasks)
	fmt.Fprintf(&b, "Tasks in training order: %s. Each cell: completion NLL per token (lower is better) / accuracy %% (balanced accuracy %%) on the first %d test rows of the task", strings.Join(r.Tasks, " → "), s.evalLimit)
	if len(runs) > 1 {
		var ls []string
		for _, x := range runs {
			ls = append(ls, label(x))
		}
		fmt.Fprintf(&b, ", mean over %d runs (%s)", len(runs), strings.Join(ls, ", "))
	}
	b.WriteString(".\n\n")
	b.WriteString("| approach | after task | adapter rank |")
	for _, t := range r.Tasks {
		fmt.Fprintf(&b, " %s NLL | %s acc (bal.) |", t, t)
	}
	b.WriteString("\n|---|---|---|")
	b.WriteString(strings.Repeat("---:|---:|", n))
	b.WriteString("\n| base model | – | – |")
	for _, t := range r.Tasks {
		sc := r.Base[t]
		if sc == nil {
			b.WriteString(" – | – |")
			continue
		}
		fmt.Fprintf(&b, " %s | %s (%s) |", f3(sc.NLL), f1(sc.Acc), f1(sc.BalAcc))
	}
	b.WriteString("\n")
	for _, ap := range approaches {
		for k := 1; k <= n; k++ {
			rank := fmt.Sprint(s.rank)
			switch ap {
			case apExtend:
				rank = fmt.Sprint(s.rank * k)
			case apSeparate:
				rank = fmt.Sprintf("%d × %d", k, s.rank)
			}
			fmt.Fprintf(&b, "| %s | %d (%s) | %s |", ap, k, r.Tasks[k-1], rank)
			for j, t := range r.Tasks {
				sc := r.Scores[ap][k-1][t]
				if j >= k || sc == nil {
					b.WriteString(" | |")
					continue
				}
				fmt.Fprintf(&b, " %s | %s (%s) |", f3(sc.NLL), f1(sc.Acc), f1(sc.BalAcc))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\nAfter the last task: the mean over all tasks, and forgetting = the mean over the earlier tasks of (score after the last task − score right after training that task); positive NLL forgetting and negative accuracy forgetting are losses.\n\n")
	b.WriteString("| approach | run | mean NLL | mean acc | mean bal. acc | NLL forgetting | acc forgetting | bal. acc forgetting |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, ap := range approaches {
		for _, x := range append(runs, r) {
			name := "mean"
			if x != r || len(runs) == 1 {
				name = label(x)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", ap, name,
				fnum(x.final(ap, nll), 3, false), fnum(x.final(ap, acc), 1, false), fnum(x.final(ap, balAcc), 1, false),
				fnum(x.forgetting(ap, nll), 3, true), fnum(x.forgetting(ap, acc), 1, true), fnum(x.forgetting(ap, balAcc), 1, true))
			if len(runs) == 1 {
				break
			}
		}
	}
	b.WriteString("\nApproaches:\n\n")
	for _, ap := range approaches {
		fmt.Fprintf(&b, "- **%s**: %s\n", ap, approachDoc[ap])
	}
	return b.String()
}

// write saves results.json (every run, and their mean), continual.md and the figure (of the
// mean).
func (s *settings) write(runs []*results) error {
	js, err := json.MarshalIndent(map[string]any{"runs": runs, "mean": mean(runs)}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(s.out, "results.json"), append(js, '\n')); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(s.out, "continual.md"), []byte(markdown(s, runs))); err != nil {
		return err
	}
	return mean(runs).figure(filepath.Join(s.out, "continual"))
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
