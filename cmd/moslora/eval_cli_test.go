package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
)

// evalJSON runs `moslora eval --json` with args and decodes its output, failing unless it is
// exactly one JSON object with "tasks" and "avg_score" whose tasks all have the five metric keys.
func evalJSON(t *testing.T, args ...string) map[string]map[string]any {
	t.Helper()
	stdout, err := runCLI(t, append([]string{"eval", "--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Tasks    map[string]map[string]any `json:"tasks"`
		AvgScore *float64                  `json:"avg_score"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("eval --json output is not the report object: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("eval --json printed more than one JSON value:\n%s", stdout)
	}
	if len(rep.Tasks) == 0 {
		t.Fatalf("eval --json: no tasks:\n%s", stdout)
	}
	if rep.AvgScore == nil {
		t.Errorf("eval --json: avg_score is null on task rows:\n%s", stdout)
	}
	for name, task := range rep.Tasks {
		for _, k := range []string{"n", "nll", "accuracy", "balanced_accuracy", "exact_match"} {
			if _, ok := task[k]; !ok {
				t.Errorf("eval --json: task %s has no %q key: %v", name, k, task)
			}
		}
	}
	return rep.Tasks
}

// TestEvalJSONBaseAndAdapter scores the first test rows of the embedded default with the base
// model and with a freshly trained MoSLoRA adapter: the JSON report has every key, the row counts
// add up to --limit, and the adapter changes the NLL.
func TestEvalJSONBaseAndAdapter(t *testing.T) {
	p := extractDefault(t)
	// Two rows of each task (the embedded test file is grouped by task), and --limit cuts the last.
	b, err := os.ReadFile(p.Test)
	if err != nil {
		t.Fatal(err)
	}
	perTask := map[string]int{}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			Task string `json:"task"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v", p.Test, err)
		}
		if perTask[r.Task] < 2 {
			perTask[r.Task]++
			rows = append(rows, line)
		}
	}
	if len(perTask) < 2 {
		t.Fatalf("%s has %d tasks, want several", p.Test, len(perTask))
	}
	data := filepath.Join(t.TempDir(), "test.jsonl")
	if err := os.WriteFile(data, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	limit := len(rows) - 1
	base := evalJSON(t, "--model", p.ModelDir, "--data", data, "--limit", strconv.Itoa(limit))
	if len(base) != len(perTask) {
		t.Errorf("eval scored %d tasks, want %d (%v)", len(base), len(perTask), perTask)
	}
	n := 0
	for name, task := range base {
		c, _ := task["n"].(float64)
		n += int(c)
		if nll, _ := task["nll"].(float64); !(nll > 0) || math.IsInf(nll, 0) {
			t.Errorf("task %s: nll %v, want a positive number", name, task["nll"])
		}
		if task["accuracy"] == nil && task["exact_match"] == nil {
			t.Errorf("task %s has neither accuracy nor exact_match: %v", name, task)
		}
	}
	if n != limit {
		t.Errorf("eval --limit %d scored %d rows", limit, n)
	}

	out := filepath.Join(t.TempDir(), "adapter")
	if _, err := trainSmall(t, p, out, "--method", "moslora", "--steps", "3", "--warmup", "0", "--lr", "0.01"); err != nil {
		t.Fatal(err)
	}
	tuned := evalJSON(t, "--model", p.ModelDir, "--adapter", out, "--data", data, "--limit", strconv.Itoa(limit))
	if len(tuned) != len(base) {
		t.Fatalf("adapter run scored %d tasks, base %d", len(tuned), len(base))
	}
	maxDiff := 0.0
	for name, task := range base {
		b, _ := task["nll"].(float64)
		a, _ := tuned[name]["nll"].(float64)
		t.Logf("%s: nll base %.5f, adapter %.5f", name, b, a)
		maxDiff = max(maxDiff, math.Abs(a-b))
	}
	if maxDiff < numtest.F32Model {
		t.Errorf("the adapter changed no task's NLL by more than %g (max %g)", numtest.F32Model, maxDiff)
	}
}
