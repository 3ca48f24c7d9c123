package jobs

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/atomicfile"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/train"
)

// GateFile is written beside eval.json for a gated adapter: how the trained gates weigh the
// subspaces on each task (or domain) of the evaluation rows — does the mixer route by task?
const GateFile = "gate_usage.json"

// GateTask is the gate usage of the trained adapter over one task's evaluation rows (prompt and
// completion, one row per forward pass, so no padding is counted).
type GateTask struct {
	Task    string               `json:"task"` // the rows' task, else their domain, else "all"
	Rows    int                  `json:"rows"`
	Tokens  int                  `json:"tokens"`
	Entropy float64              `json:"gate_entropy"`       // mean over modules of the mean per-token entropy (nats)
	Usage   []float64            `json:"gate_usage"`         // (K) mean over modules of the mean gate
	Modules map[string][]float64 `json:"gate_usage_modules"` // module path → (K)
}

// GateUsageByTask runs each evaluation row through the model (inference, one row at a time) and
// returns the gated mixers' usage per task, in the order tasks first appear; nil when the adapter
// has no gated mixer. limit > 0 uses only the first limit rows (as the evaluation does).
func GateUsageByTask(m *model.Model, a *adapter.Adapter, tok data.Tokenizer, rows []data.Row, maxLen, limit int) ([]GateTask, error) {
	gs := train.GatesOf(a)
	if !gs.Any() {
		return nil, nil
	}
	defer gs.Count(false)
	if limit > 0 && limit < len(rows) {
		rows = rows[:limit]
	}
	var order []string
	byTask := map[string][]int{}
	for i := range rows {
		t := rows[i].Task
		if t == "" {
			t = rows[i].Domain
		}
		if t == "" {
			t = "all"
		}
		if _, ok := byTask[t]; !ok {
			order = append(order, t)
		}
		byTask[t] = append(byTask[t], i)
	}
	var out []GateTask
	for _, t := range order {
		gs.Count(true)
		tokens := 0
		for _, i := range byTask[t] {
			ex, err := data.Encode(tok, &rows[i], maxLen)
			if err != nil {
				return nil, fmt.Errorf("gate usage: evaluation row %d: %w", i+1, err)
			}
			if _, err := m.Forward(ex.IDs, 1, len(ex.IDs), false); err != nil {
				return nil, fmt.Errorf("gate usage: evaluation row %d: %w", i+1, err)
			}
			tokens += len(ex.IDs)
		}
		var mt train.Metric
		gs.Fill(&mt)
		gt := GateTask{Task: t, Rows: len(byTask[t]), Tokens: tokens, Usage: mt.GateUsage, Modules: mt.GateUsageModules}
		if mt.GateEntropy != nil {
			gt.Entropy = *mt.GateEntropy
		}
		out = append(out, gt)
	}
	return out, nil
}

// writeGateUsage writes GateFile into out when the adapter is gated.
func writeGateUsage(out string, m *model.Model, a *adapter.Adapter, tok data.Tokenizer, rows []data.Row, maxLen, limit int) error {
	gt, err := GateUsageByTask(m, a, tok, rows, maxLen, limit)
	if err != nil || gt == nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]any{"tasks": gt}, "", "  ")
	return atomicfile.WriteFile(filepath.Join(out, GateFile), append(b, '\n'), 0o644)
}
