package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/moslora/moslora/stats"
)

// Group is one method's runs (one per seed): each either an evaluation Report read from an
// `eval --json` file, or a bare avg_score (e.g. a published reference number).
type Group struct {
	Name    string
	Sources []string  // file names, or the numbers as written
	Scores  []float64 // avg_score of each run
	Reports []*Report // the runs read from files (nil entries for bare scores)
}

// ParseGroup reads "NAME=SRC[,SRC…]": each SRC is a number (an avg_score), an `eval --json`
// file, or a glob pattern of such files (expanded in sorted order).
func ParseGroup(spec string) (*Group, error) {
	name, list, ok := strings.Cut(spec, "=")
	if !ok || name == "" || list == "" {
		return nil, fmt.Errorf("compare: %q: want NAME=SRC[,SRC...] (SRC: an eval --json file, a glob of them, or a score)", spec)
	}
	g := &Group{Name: name}
	for _, src := range strings.Split(list, ",") {
		if v, err := strconv.ParseFloat(src, 64); err == nil {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("compare: group %s: score %q is not finite", name, src)
			}
			g.Sources, g.Scores, g.Reports = append(g.Sources, src), append(g.Scores, v), append(g.Reports, nil)
			continue
		}
		files := []string{src}
		if strings.ContainsAny(src, "*?[") {
			m, err := filepath.Glob(src)
			if err != nil {
				return nil, fmt.Errorf("compare: group %s: pattern %q: %w", name, src, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("compare: group %s: no file matches %q", name, src)
			}
			sort.Strings(m)
			files = m
		}
		for _, f := range files {
			r, err := ReadReport(f)
			if err != nil {
				return nil, fmt.Errorf("compare: group %s: %w", name, err)
			}
			g.Sources, g.Scores, g.Reports = append(g.Sources, f), append(g.Scores, *r.AvgScore), append(g.Reports, r)
		}
	}
	return g, nil
}

// ReadReport reads an `eval --json` file; it must hold a finite avg_score.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not an eval --json report: %w", path, err)
	}
	if r.AvgScore == nil || math.IsNaN(*r.AvgScore) || math.IsInf(*r.AvgScore, 0) {
		return nil, fmt.Errorf("%s: no finite \"avg_score\"", path)
	}
	return &r, nil
}

// Summary is one group's avg_score over its runs, and each task's headline score (accuracy or
// exact match) over the runs that were read from files.
type Summary struct {
	Name  string                 `json:"name"`
	Runs  int                    `json:"runs"`
	Mean  float64                `json:"mean"`
	Std   *float64               `json:"std"` // nil with one run
	Min   float64                `json:"min"`
	Max   float64                `json:"max"`
	Tasks map[string]TaskSummary `json:"tasks,omitempty"`
}

// TaskSummary is a task's headline score over a group's runs.
type TaskSummary struct {
	Runs int      `json:"runs"`
	Mean float64  `json:"mean"`
	Std  *float64 `json:"std"`
}

// Test is one group against the first: the difference of mean avg_scores, Welch's t-test and the
// Mann–Whitney rank-sum test (both two-sided; NaN where undefined, printed as null / "n/a").
type Test struct {
	A, B                    string
	Diff                    float64 // mean(B) − mean(A)
	WelchT, WelchDF, WelchP float64
	MannWhitneyU            float64
	MannWhitneyP            float64
	ExactRankTest           bool
}

// Comparison is the result of Compare.
type Comparison struct {
	Groups []Summary `json:"groups"`
	Tests  []Test    `json:"tests"`
}

// Compare summarises each group and tests every other group against the first.
func Compare(groups []*Group) *Comparison {
	c := &Comparison{}
	for _, g := range groups {
		s := Summary{Name: g.Name, Runs: len(g.Scores), Mean: stats.Mean(g.Scores), Std: finiteOrNil(stats.Std(g.Scores)),
			Min: slices.Min(g.Scores), Max: slices.Max(g.Scores)}
		per := map[string][]float64{}
		for _, r := range g.Reports {
			if r == nil {
				continue
			}
			for name, t := range r.Tasks {
				if m := t.MainScore(); m != nil {
					per[name] = append(per[name], *m)
				}
			}
		}
		if len(per) > 0 {
			s.Tasks = map[string]TaskSummary{}
			for name, v := range per {
				s.Tasks[name] = TaskSummary{Runs: len(v), Mean: stats.Mean(v), Std: finiteOrNil(stats.Std(v))}
			}
		}
		c.Groups = append(c.Groups, s)
	}
	for _, g := range groups[1:] {
		a := groups[0]
		w, u := stats.WelchT(g.Scores, a.Scores), stats.MannWhitneyU(g.Scores, a.Scores)
		c.Tests = append(c.Tests, Test{A: a.Name, B: g.Name, Diff: stats.Mean(g.Scores) - stats.Mean(a.Scores),
			WelchT: w.T, WelchDF: w.DF, WelchP: w.P, MannWhitneyU: u.U, MannWhitneyP: u.P, ExactRankTest: u.Exact})
	}
	return c
}

// WriteTable prints the summaries and the tests.
func (c *Comparison) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\truns\tavg_score\tstd\tmin\tmax\t")
	for _, s := range c.Groups {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\t%.2f\t%.2f\t\n", s.Name, s.Runs, s.Mean, fmtPtr(s.Std), s.Min, s.Max)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var tasks []string
	seen := map[string]bool{}
	for _, s := range c.Groups {
		for name := range s.Tasks {
			if !seen[name] {
				seen[name] = true
				tasks = append(tasks, name)
			}
		}
	}
	sort.Strings(tasks)
	if len(tasks) > 0 {
		fmt.Fprintln(w, "\nper task (accuracy or exact match, %, mean ± std over runs):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "group\t")
		for _, t := range tasks {
			fmt.Fprintf(tw, "%s\t", t)
		}
		fmt.Fprintln(tw)
		for _, s := range c.Groups {
			if s.Tasks == nil {
				continue
			}
			fmt.Fprintf(tw, "%s\t", s.Name)
			for _, t := range tasks {
				if ts, ok := s.Tasks[t]; ok {
					fmt.Fprintf(tw, "%.1f ± %s\t", ts.Mean, fmtPtr(ts.Std))
				} else {
					fmt.Fprint(tw, "-\t")
				}
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(c.Tests) > 0 {
		fmt.Fprintln(w, "\nagainst the first group (two-sided):")
	}
	for _, t := range c.Tests {
		exact := "normal approx."
		if t.ExactRankTest {
			exact = "exact"
		}
		fmt.Fprintf(w, "  %s − %s: %+.2f;  Welch t = %s (df %s), p = %s;  Mann–Whitney U = %g, p = %s (%s)\n",
			t.B, t.A, t.Diff, fmtNum(t.WelchT, "%.2f"), fmtNum(t.WelchDF, "%.1f"), fmtNum(t.WelchP, "%.3g"), t.MannWhitneyU, fmtNum(t.MannWhitneyP, "%.3g"), exact)
	}
	return nil
}

// MarshalJSON writes NaN test statistics as null.
func (t Test) MarshalJSON() ([]byte, error) {
	m := map[string]any{"a": t.A, "b": t.B, "diff": t.Diff, "welch_t": finiteOrNil(t.WelchT), "welch_df": finiteOrNil(t.WelchDF),
		"welch_p": finiteOrNil(t.WelchP), "mann_whitney_u": finiteOrNil(t.MannWhitneyU), "mann_whitney_p": finiteOrNil(t.MannWhitneyP),
		"mann_whitney_exact": t.ExactRankTest}
	return json.Marshal(m)
}

// finiteOrNil is &v, or nil (JSON null, printed "n/a") when v is NaN or infinite.
func finiteOrNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// fmtPtr prints a summary statistic: two decimals, or "n/a" when undefined.
func fmtPtr(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmtNum(*p, "%.2f")
}

// fmtNum prints v with format f, or "n/a" when v is NaN or infinite.
func fmtNum(v float64, f string) string {
	if p := finiteOrNil(v); p != nil {
		return fmt.Sprintf(f, *p)
	}
	return "n/a"
}
