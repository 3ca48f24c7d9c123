package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/moslora/moslora/stats"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// lateUpdates is the window the gate-usage heat maps average: the last tenth of a run's updates
// (at least one), where the routing has settled as far as it will.
func lateUpdates(n int) int { return max(1, n/10) }

// GateUsageByModule averages, per module, the gated mixer's mean gate per subspace
// (metrics.jsonl gate_usage_modules) over the last tenth of each run's updates and then over the
// runs. ok is false when no run logged gate usage.
func GateUsageByModule(runs []*Run) (ModuleValues, bool) {
	sums := map[string][]float64{}
	n := 0
	for _, r := range runs {
		ms := r.Metrics
		w := lateUpdates(len(ms))
		var found bool
		run := map[string][]float64{}
		for _, m := range ms[len(ms)-w:] {
			for path, u := range m.GateUsageModules {
				s := run[path]
				if s == nil {
					s = make([]float64, len(u))
					run[path] = s
				}
				for k := range u {
					if k < len(s) {
						s[k] += u[k] / float64(w)
					}
				}
				found = true
			}
		}
		if !found {
			continue
		}
		n++
		for path, u := range run {
			if s, ok := sums[path]; ok && len(s) == len(u) {
				for k := range u {
					s[k] += u[k]
				}
			} else {
				sums[path] = u
			}
		}
	}
	if n == 0 {
		return ModuleValues{}, false
	}
	return meanModules(sums, n), true
}

// GateUsageByTask is, per task of the runs' gate_usage.json (in order of first appearance), the
// mean gate per subspace of the trained adapter over that task's evaluation rows, averaged over
// the runs that measured it. ok is false when no run did.
func GateUsageByTask(runs []*Run) (ModuleValues, bool) {
	sums := map[string][]float64{}
	counts := map[string]int{}
	var order []string
	n := 0
	for _, r := range runs {
		if len(r.Gates) > 0 {
			n++
		}
		for _, g := range r.Gates {
			s, ok := sums[g.Task]
			if !ok {
				order = append(order, g.Task)
				s = make([]float64, len(g.Usage))
				sums[g.Task] = s
			}
			if len(s) != len(g.Usage) {
				continue
			}
			for k, u := range g.Usage {
				s[k] += u
			}
			counts[g.Task]++
		}
	}
	if n == 0 {
		return ModuleValues{}, false
	}
	mv := ModuleValues{Runs: n}
	for _, t := range order {
		v := sums[t]
		for k := range v {
			v[k] /= float64(counts[t])
		}
		mv.Modules = append(mv.Modules, t)
		mv.Values = append(mv.Values, v)
	}
	return mv, true
}

// GateUsageByRun is one row per run that logged gate usage (rows named by the cell): its overall
// mean gate per subspace (gate_usage) over the last tenth of its updates.
func GateUsageByRun(groups []*Group) (ModuleValues, bool) {
	var mv ModuleValues
	for _, g := range groups {
		for _, r := range g.Runs {
			ms := r.Metrics
			w := lateUpdates(len(ms))
			var row []float64
			for _, m := range ms[len(ms)-w:] {
				if m.GateUsage == nil {
					continue
				}
				if row == nil {
					row = make([]float64, len(m.GateUsage))
				}
				for k := range m.GateUsage {
					if k < len(row) {
						row[k] += m.GateUsage[k] / float64(w)
					}
				}
			}
			if row == nil {
				continue
			}
			mv.Modules = append(mv.Modules, r.Cell.Name)
			mv.Values = append(mv.Values, row)
			mv.Runs++
		}
	}
	if mv.Runs == 0 {
		return mv, false
	}
	// Rows of different K: pad with NaN (drawn as the lowest colour) so the grid is rectangular.
	k := 0
	for _, row := range mv.Values {
		k = max(k, len(row))
	}
	for i, row := range mv.Values {
		for len(row) < k {
			row = append(row, math.NaN())
		}
		mv.Values[i] = row
	}
	return mv, true
}

// EntropyPlot draws each gated group's gate entropy per update (metrics.jsonl gate_entropy),
// the mean over its runs, with ln K for reference in the title. nil when no run logged any.
func EntropyPlot(groups []*Group) *plot.Plot {
	p := plot.New()
	p.Title.Text = "gate entropy per update (mean over seeds; uniform gates: ln K)"
	p.X.Label.Text = "update"
	p.Y.Label.Text = "entropy (nats)"
	drawn := false
	var ks []string
	for i, g := range groups {
		n := math.MaxInt
		for _, r := range g.Runs {
			c := 0
			for _, m := range r.Metrics {
				if m.GateEntropy != nil {
					c++
				}
			}
			if c != len(r.Metrics) {
				c = 0
			}
			n = min(n, c)
		}
		if n == 0 || n == math.MaxInt {
			continue
		}
		line := make(plotter.XYs, n)
		for k := 0; k < n; k++ {
			vals := make([]float64, len(g.Runs))
			for j, r := range g.Runs {
				vals[j] = *r.Metrics[k].GateEntropy
			}
			line[k] = plotter.XY{X: float64(g.Runs[0].Metrics[k].Step), Y: stats.Mean(vals)}
		}
		l, err := plotter.NewLine(line)
		if err != nil {
			continue
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%d)", g.Name, len(g.Runs)), l)
		if u := g.Runs[0].Metrics[0].GateUsage; len(u) > 0 {
			ks = append(ks, fmt.Sprintf("ln %d = %.3f", len(u), math.Log(float64(len(u)))))
		}
		drawn = true
	}
	if !drawn {
		return nil
	}
	if len(ks) > 0 {
		p.Title.Text += "\n" + strings.Join(uniq(ks), ", ")
	}
	p.Legend.Top = true
	return p
}

func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
