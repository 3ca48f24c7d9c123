package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/sweep"
	"github.com/moslora/moslora/train"
)

// Run is one finished cell of the sweep.
type Run struct {
	Dir     string
	Cell    sweep.Cell
	Eval    *eval.Report
	Metrics []train.Metric // metrics.jsonl, one per update
	Info    TrainInfo      // train_config.json
	Gates   []GateTask     // gate_usage.json (gated runs with an evaluation file), nil otherwise
}

// GateTask is one task's entry of gate_usage.json (package jobs): the trained gates' mean weight
// per subspace over that task's evaluation rows.
type GateTask struct {
	Task    string    `json:"task"`
	Tokens  int       `json:"tokens"`
	Entropy float64   `json:"gate_entropy"`
	Usage   []float64 `json:"gate_usage"`
}

// GateFile is the per-task gate usage a gated run writes beside eval.json.
const GateFile = "gate_usage.json"

// TrainInfo is the part of train_config.json the report uses.
type TrainInfo struct {
	Steps     int     `json:"steps"`
	FinalLoss float64 `json:"final_loss"`
	Trainable int     `json:"trainable_params"`
}

// Group is the runs of one group (cells differing only in their seed), in seed order.
type Group struct {
	Name   string
	Method string
	Runs   []*Run
}

// Sweep is what Load reads.
type Sweep struct {
	Dir        string
	Inputs     sweep.Inputs
	Groups     []*Group // sweep.json's grid order first (its first group is the reference), then by name
	Unfinished []string // cells without eval.json
}

// Load reads every cell folder of the sweep in dir.
func Load(dir string) (*Sweep, error) {
	cellDirs, err := filepath.Glob(filepath.Join(dir, sweep.RunsDir, "*", sweep.CellFile))
	if err != nil {
		return nil, err
	}
	if len(cellDirs) == 0 {
		return nil, fmt.Errorf("report: %s holds no sweep cells (%s/<cell>/%s)", dir, sweep.RunsDir, sweep.CellFile)
	}
	s := &Sweep{Dir: dir}
	order := map[string]int{}
	if rec, err := sweep.ReadRecord(dir); err == nil {
		s.Inputs = rec.Inputs
		for i, c := range rec.Grid.Cells() {
			if _, ok := order[c.Group]; !ok {
				order[c.Group] = i
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("report: %w", err)
	}
	byName := map[string]*Group{}
	for _, p := range cellDirs {
		cd := filepath.Dir(p)
		c, in, err := sweep.ReadCell(cd)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		if s.Inputs == (sweep.Inputs{}) {
			s.Inputs = in
		}
		r := &Run{Dir: cd, Cell: c}
		if r.Eval, err = eval.ReadReport(filepath.Join(cd, "eval.json")); err != nil {
			if os.IsNotExist(err) {
				s.Unfinished = append(s.Unfinished, c.Name)
				continue
			}
			return nil, fmt.Errorf("report: %w", err)
		}
		if r.Metrics, err = readMetrics(filepath.Join(cd, train.MetricsFile)); err != nil {
			return nil, err
		}
		if b, err := os.ReadFile(filepath.Join(cd, GateFile)); err == nil {
			var gf struct {
				Tasks []GateTask `json:"tasks"`
			}
			if err := json.Unmarshal(b, &gf); err != nil {
				return nil, fmt.Errorf("report: %s: %v", filepath.Join(cd, GateFile), err)
			}
			r.Gates = gf.Tasks
		}
		if b, err := os.ReadFile(filepath.Join(cd, "train_config.json")); err == nil {
			if err := json.Unmarshal(b, &r.Info); err != nil {
				return nil, fmt.Errorf("report: %s: %v", filepath.Join(cd, "train_config.json"), err)
			}
		}
		g := byName[c.Group]
		if g == nil {
			g = &Group{Name: c.Group, Method: c.Method}
			byName[c.Group] = g
			s.Groups = append(s.Groups, g)
		}
		g.Runs = append(g.Runs, r)
	}
	if len(s.Groups) == 0 {
		return nil, fmt.Errorf("report: no cell of %s has finished (no eval.json)", dir)
	}
	sort.SliceStable(s.Groups, func(i, j int) bool {
		oi, iok := order[s.Groups[i].Name]
		oj, jok := order[s.Groups[j].Name]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return s.Groups[i].Name < s.Groups[j].Name
	})
	for _, g := range s.Groups {
		sort.Slice(g.Runs, func(i, j int) bool { return g.Runs[i].Cell.Seed < g.Runs[j].Cell.Seed })
	}
	return s, nil
}

// readMetrics reads metrics.jsonl (a torn last line from a crash is skipped).
func readMetrics(path string) ([]train.Metric, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	var out []train.Metric
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m train.Metric
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// EvalGroups are the groups as compare sees them, each run with its seed.
func (s *Sweep) EvalGroups() []*eval.Group {
	var out []*eval.Group
	for _, g := range s.Groups {
		eg := &eval.Group{Name: g.Name}
		for _, r := range g.Runs {
			seed := r.Cell.Seed
			eg.Runs = append(eg.Runs, eval.Run{Source: filepath.Join(r.Dir, "eval.json"), Report: r.Eval, Seed: &seed})
		}
		out = append(out, eg)
	}
	return out
}
