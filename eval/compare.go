package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moslora/moslora/stats"
)

// Run is one training run of a group: an evaluation Report read from an `eval --json` file (with
// the run's seed when train_config.json sits beside it), or a bare number (e.g. a published
// reference score) in the units of the compared metric.
type Run struct {
	Source string
	Report *Report  // nil for a bare number
	Value  *float64 // the bare number
	Seed   *int64   // nil when unknown
}

// Group is one method's runs (one per seed).
type Group struct {
	Name string
	Runs []Run
}

// ParseGroup reads "NAME=SRC[,SRC…]": each SRC is a number, an `eval --json` file, or a glob
// pattern of such files (expanded in sorted order).
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
			g.Runs = append(g.Runs, Run{Source: src, Value: &v})
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
			seed, err := ReadSeed(filepath.Dir(f))
			if err != nil {
				return nil, fmt.Errorf("compare: group %s: %w", name, err)
			}
			g.Runs = append(g.Runs, Run{Source: f, Report: r, Seed: seed})
		}
	}
	return g, nil
}

// ReadReport reads an `eval --json` file.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not an eval --json report: %w", path, err)
	}
	if r.Tasks == nil {
		return nil, fmt.Errorf("%s: not an eval --json report: no \"tasks\"", path)
	}
	return &r, nil
}

// ReadSeed reads the seed of the training run whose output folder is dir, from the
// train_config.json that `train` writes there ({"config": {"seed": N}}); nil when there is none.
func ReadSeed(dir string) (*int64, error) {
	p := filepath.Join(dir, "train_config.json")
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var info struct {
		Config struct {
			Seed *int64 `json:"seed"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return info.Config.Seed, nil
}

// Values are the metric of each run, in order; a report without the metric is an error naming
// its file.
func (g *Group) Values(m Metric) ([]float64, error) {
	out := make([]float64, len(g.Runs))
	for i, r := range g.Runs {
		if r.Value != nil {
			out[i] = *r.Value
			continue
		}
		v := m.Of(r.Report)
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
			return nil, fmt.Errorf("compare: group %s: %s: no finite %q", g.Name, r.Source, m.Name)
		}
		out[i] = *v
	}
	return out, nil
}

// Summary is one group's metric over its runs, and each task's value over the runs that were read
// from files.
type Summary struct {
	Name  string                 `json:"name"`
	Runs  int                    `json:"runs"`
	Mean  float64                `json:"mean"`
	Std   *float64               `json:"std"` // nil with one run
	Min   float64                `json:"min"`
	Max   float64                `json:"max"`
	Tasks map[string]TaskSummary `json:"tasks,omitempty"`
	// CI is the 95% bootstrap interval over test examples of a group's single run (avg_score
	// only, and only when its eval.json keeps per-row scores).
	CI *[2]float64 `json:"bootstrap_ci95,omitempty"`
}

// TaskSummary is a task's value over a group's runs.
type TaskSummary struct {
	Runs int      `json:"runs"`
	Mean float64  `json:"mean"`
	Std  *float64 `json:"std"`
}

// Test is one group against the first. As independent samples: the difference of means, Welch's
// t-test, the Mann–Whitney rank-sum test and Cohen's d. Paired by seed (the seeds both groups ran,
// when every run's seed is known and no seed repeats in a group): the mean paired difference, the
// paired t-test, the Wilcoxon signed-rank test and d_z. All two-sided; NaN where undefined
// (printed as null / "n/a").
type Test struct {
	A, B                    string
	Diff                    float64 // mean(B) − mean(A)
	WelchT, WelchDF, WelchP float64
	MannWhitneyU            float64
	MannWhitneyP            float64
	ExactRankTest           bool
	CohenD                  float64 // (mean(B) − mean(A)) / pooled std
	Paired                  int     // seeds in both groups (0: no paired test)
	PairedDiff              float64 // mean over those seeds of B − A
	PairedT, PairedP        float64
	WilcoxonT, WilcoxonP    float64
	ExactWilcoxon           bool
	PairedD                 float64 // d_z
}

// ParityCheck is the result of checking a group's mean against a reference mean.
type ParityCheck struct {
	Group   string  `json:"group"`
	Ref     string  `json:"ref"`
	Mean    float64 `json:"mean"`
	RefMean float64 `json:"ref_mean"`
	Diff    float64 `json:"diff"` // Mean − RefMean
	Tol     float64 `json:"tolerance"`
	Within  bool    `json:"within"`
}

// Parity asks for a check of group Group's mean against Ref — another group's name or a number —
// within ±Tol.
type Parity struct {
	Group, Ref string
	Tol        float64
}

// ParseParity reads "GROUP=REF" (REF: a group name or a number).
func ParseParity(spec string, tol float64) (Parity, error) {
	g, ref, ok := strings.Cut(spec, "=")
	if !ok || g == "" || ref == "" {
		return Parity{}, fmt.Errorf("--parity %q: want GROUP=REF (REF: another group's name or a mean, e.g. lora=32.62)", spec)
	}
	if !(tol >= 0) {
		return Parity{}, fmt.Errorf("--parity-tol %v: expected a number ≥ 0", tol)
	}
	return Parity{Group: g, Ref: ref, Tol: tol}, nil
}

// CompareOptions tunes Compare.
type CompareOptions struct {
	Metric Metric // zero value: avg_score
	Parity []Parity
}

// Comparison is the result of Compare.
type Comparison struct {
	Metric string        `json:"metric"`
	Groups []Summary     `json:"groups"`
	Tests  []Test        `json:"tests"`
	Parity []ParityCheck `json:"parity,omitempty"`
	format string
}

// Compare summarises each group under the metric, tests every other group against the first and
// runs the parity checks.
func Compare(groups []*Group, opt CompareOptions) (*Comparison, error) {
	m := opt.Metric
	if m.Name == "" {
		m = Metrics[0]
	}
	c := &Comparison{Metric: m.Name, format: m.Format}
	vals := make([][]float64, len(groups))
	for i, g := range groups {
		v, err := g.Values(m)
		if err != nil {
			return nil, err
		}
		if len(v) == 0 {
			return nil, fmt.Errorf("compare: group %s has no runs", g.Name)
		}
		vals[i] = v
		s := Summary{Name: g.Name, Runs: len(v), Mean: stats.Mean(v), Std: finiteOrNil(stats.Std(v)), Min: slices.Min(v), Max: slices.Max(v)}
		per := map[string][]float64{}
		for _, r := range g.Runs {
			if r.Report == nil {
				continue
			}
			for name, t := range r.Report.Tasks {
				if x := m.OfTask(t); x != nil {
					per[name] = append(per[name], *x)
				}
			}
		}
		if len(per) > 0 {
			s.Tasks = map[string]TaskSummary{}
			for name, v := range per {
				s.Tasks[name] = TaskSummary{Runs: len(v), Mean: stats.Mean(v), Std: finiteOrNil(stats.Std(v))}
			}
		}
		if len(g.Runs) == 1 && g.Runs[0].Report != nil && m.Name == "avg_score" {
			if iv, ok := g.Runs[0].Report.BootstrapAvgScore(BootstrapResamples, 0.95, 0); ok {
				s.CI = &[2]float64{iv.Lo, iv.Hi}
			}
		}
		c.Groups = append(c.Groups, s)
	}
	for i, g := range groups[1:] {
		a, b := vals[0], vals[i+1]
		w, u := stats.WelchT(b, a), stats.MannWhitneyU(b, a)
		t := Test{A: groups[0].Name, B: g.Name, Diff: stats.Mean(b) - stats.Mean(a),
			WelchT: w.T, WelchDF: w.DF, WelchP: w.P, MannWhitneyU: u.U, MannWhitneyP: u.P, ExactRankTest: u.Exact,
			CohenD: stats.CohenD(b, a), PairedDiff: math.NaN(), PairedT: math.NaN(), PairedP: math.NaN(),
			WilcoxonT: math.NaN(), WilcoxonP: math.NaN(), PairedD: math.NaN()}
		if pa, pb := pairBySeed(groups[0], a, g, b); len(pa) > 0 {
			pt, wx := stats.PairedT(pb, pa), stats.Wilcoxon(pb, pa)
			t.Paired, t.PairedDiff, t.PairedT, t.PairedP = len(pa), pt.MeanDiff, pt.T, pt.P
			t.WilcoxonT, t.WilcoxonP, t.ExactWilcoxon, t.PairedD = wx.T, wx.P, wx.Exact, stats.PairedD(pb, pa)
		}
		c.Tests = append(c.Tests, t)
	}
	for _, p := range opt.Parity {
		pc, err := c.check(p)
		if err != nil {
			return nil, err
		}
		c.Parity = append(c.Parity, pc)
	}
	return c, nil
}

// BootstrapResamples is the number of bootstrap resamples behind every interval over test examples.
const BootstrapResamples = 2000

// pairBySeed returns the values of the seeds both groups ran, in ascending seed order; nothing
// when a run's seed is unknown or a seed repeats within a group.
func pairBySeed(ga *Group, a []float64, gb *Group, b []float64) (pa, pb []float64) {
	bySeed := func(g *Group, v []float64) map[int64]float64 {
		m := map[int64]float64{}
		for i, r := range g.Runs {
			if r.Seed == nil {
				return nil
			}
			if _, dup := m[*r.Seed]; dup {
				return nil
			}
			m[*r.Seed] = v[i]
		}
		return m
	}
	ma, mb := bySeed(ga, a), bySeed(gb, b)
	if ma == nil || mb == nil {
		return nil, nil
	}
	var seeds []int64
	for s := range ma {
		if _, ok := mb[s]; ok {
			seeds = append(seeds, s)
		}
	}
	slices.Sort(seeds)
	for _, s := range seeds {
		pa, pb = append(pa, ma[s]), append(pb, mb[s])
	}
	return pa, pb
}

// check runs one parity check on the summaries.
func (c *Comparison) check(p Parity) (ParityCheck, error) {
	find := func(name string) *Summary {
		for i := range c.Groups {
			if c.Groups[i].Name == name {
				return &c.Groups[i]
			}
		}
		return nil
	}
	g := find(p.Group)
	if g == nil {
		return ParityCheck{}, fmt.Errorf("--parity %s=%s: no group named %q", p.Group, p.Ref, p.Group)
	}
	pc := ParityCheck{Group: p.Group, Ref: p.Ref, Mean: g.Mean, Tol: p.Tol}
	if r := find(p.Ref); r != nil {
		pc.RefMean = r.Mean
	} else if v, err := strconv.ParseFloat(p.Ref, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		pc.RefMean = v
	} else {
		return ParityCheck{}, fmt.Errorf("--parity %s=%s: %q is neither a group name nor a number", p.Group, p.Ref, p.Ref)
	}
	pc.Diff = pc.Mean - pc.RefMean
	pc.Within = math.Abs(pc.Diff) <= p.Tol
	return pc, nil
}

// MarshalJSON writes NaN test statistics as null.
func (t Test) MarshalJSON() ([]byte, error) {
	m := map[string]any{"a": t.A, "b": t.B, "diff": t.Diff, "welch_t": finiteOrNil(t.WelchT), "welch_df": finiteOrNil(t.WelchDF),
		"welch_p": finiteOrNil(t.WelchP), "mann_whitney_u": finiteOrNil(t.MannWhitneyU), "mann_whitney_p": finiteOrNil(t.MannWhitneyP),
		"mann_whitney_exact": t.ExactRankTest, "cohen_d": finiteOrNil(t.CohenD), "paired_n": t.Paired,
		"paired_diff": finiteOrNil(t.PairedDiff), "paired_t": finiteOrNil(t.PairedT), "paired_p": finiteOrNil(t.PairedP),
		"wilcoxon_t": finiteOrNil(t.WilcoxonT), "wilcoxon_p": finiteOrNil(t.WilcoxonP), "wilcoxon_exact": t.ExactWilcoxon,
		"paired_d": finiteOrNil(t.PairedD)}
	return json.Marshal(m)
}

// finiteOrNil is &v, or nil (JSON null, printed "n/a") when v is NaN or infinite.
func finiteOrNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// FormatNum prints v with format f, or "n/a" when v is NaN or infinite.
func FormatNum(v float64, f string) string {
	if p := finiteOrNil(v); p != nil {
		return fmt.Sprintf(f, *p)
	}
	return "n/a"
}
