package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moslora/moslora/report"
	"github.com/moslora/moslora/safetensors"
)

// TestSweepRunsTheControlsAndTheReportLabelsThem runs the controls and variants as sweep
// cells from a grid file — the folded control, equal-parameter LoRA, LoRA+ ratios, a mixer
// warm-up and a gated mixer — and checks the report: each group's row names its method and its
// own flags, the gate figures are drawn from the gated run's metrics, and every number in
// report.md comes from the run files or is computed from them.
func TestSweepRunsTheControlsAndTheReportLabelsThem(t *testing.T) {
	if testing.Short() {
		t.Skip("trains six tiny cells")
	}
	t.Setenv("MOSLORA_TEST_AS_CLI", "1")
	in := tinyInputs(t, 2)
	tmp := t.TempDir()
	grid := filepath.Join(tmp, "grid.json")
	if err := os.WriteFile(grid, []byte(`{"methods": ["lora", "moslora-folded",
  {"name": "lora-eq", "method": "lora", "flags": {"match-params": "moslora"}},
  {"name": "moslora-plus", "method": "moslora", "flags": {"lr-ratio-b": 4, "lr-ratio-mixer": 4}},
  {"name": "moslora-mwarm", "method": "moslora", "flags": {"mixer-warmup": 2}},
  "gated"],
 "seeds": "0", "flags": {"steps": 4, "subspaces": 2, "rank": 8}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "sweep")
	if out, err := runCLI(t, sweepArgs(in, dir, "--grid", grid, "--jobs", "2")...); err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	rdir := filepath.Join(tmp, "report")
	if out, err := runCLI(t, "report", dir, "--out", rdir); err != nil || !strings.Contains(out, "report of 6 runs in 6 groups") {
		t.Fatalf("report: %v\n%s", err, out)
	}
	md, err := os.ReadFile(filepath.Join(rdir, report.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report.md:\n%s", md)
	for _, row := range []string{
		"| lora | lora: plain LoRA (identity mixer) | - |",
		"| moslora-folded | moslora-folded: control: MoSLoRA's initial mixer folded into A and frozen (LoRA from A' = M·A) | - |",
		"| lora-eq | lora: plain LoRA (identity mixer) | `--match-params moslora` |",
		"| moslora-plus | moslora: MoSLoRA: learnable r×r mixer, saved as the official lora_AB | `--lr-ratio-b 4` `--lr-ratio-mixer 4` |",
		"| moslora-mwarm | moslora: MoSLoRA: learnable r×r mixer, saved as the official lora_AB | `--mixer-warmup 2` |",
		"| gated | gated: input-dependent softmax gate over K subspaces | - |",
	} {
		if !strings.Contains(string(md), row) {
			t.Errorf("report.md has no row starting %q", row)
		}
	}
	for _, fig := range []string{"gates-gated", "gates-tasks-gated", "gates-runs", "gate-entropy"} {
		if !strings.Contains(string(md), "("+fig+".svg)") {
			t.Errorf("report.md does not show %s.svg", fig)
		}
		checkPNG(t, filepath.Join(rdir, fig+".png"))
		checkSVG(t, filepath.Join(rdir, fig+".svg"))
	}

	// gate_usage.json lists every task of the evaluation file, each usage a distribution.
	var gf struct {
		Tasks []struct {
			Task  string
			Rows  int
			Usage []float64 `json:"gate_usage"`
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "runs", "gated-seed0", "gate_usage.json"))
	if err != nil || json.Unmarshal(b, &gf) != nil || len(gf.Tasks) < 2 {
		t.Fatalf("gate_usage.json: %v, %d tasks", err, len(gf.Tasks))
	}
	for _, g := range gf.Tasks {
		if g.Rows != 2 || len(g.Usage) != 2 || math.Abs(g.Usage[0]+g.Usage[1]-1) > 1e-6 {
			t.Errorf("task %s: %d rows, usage %v", g.Task, g.Rows, g.Usage)
		}
	}

	// Trainable parameters: the folded control has LoRA's; equal-parameter LoRA's is the nearest
	// LoRA count to MoSLoRA's (so at least as near as LoRA at MoSLoRA's rank).
	trainable := func(group string) int {
		b, err := os.ReadFile(filepath.Join(dir, "runs", group+"-seed0", "train_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Trainable int `json:"trainable_params"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		return c.Trainable
	}
	lora, folded, eq, mos := trainable("lora"), trainable("moslora-folded"), trainable("lora-eq"), trainable("moslora-plus")
	t.Logf("trainable: lora %d, folded %d, lora-eq %d, moslora %d", lora, folded, eq, mos)
	if folded != lora || !(mos > lora) || math.Abs(float64(eq-mos)) > math.Abs(float64(lora-mos)) {
		t.Errorf("trainable parameters lora %d, folded %d, lora-eq %d, moslora %d", lora, folded, eq, mos)
	}
	st, err := safetensors.Open(filepath.Join(dir, "runs", "moslora-folded-seed0", report.AdapterFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range st.Names() {
		if !strings.Contains(k, "lora_A.") && !strings.Contains(k, "lora_B.") {
			t.Errorf("the folded control saved a mixer tensor %s", k)
		}
	}
	st.Close()

	known := runFileNumbers(t, dir)
	for _, c := range []float64{4, 2} { // the variants' flag values, strings in cell.json
		known = append(known, c)
	}
	computed := computedNumbers(t, dir)
	for _, tok := range strings.FieldsFunc(string(md), func(r rune) bool { return r == ' ' || r == '\n' || r == '|' }) {
		tok = strings.Trim(tok, "[](),;:`*%±!")
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if v == 0 { // a difference of identical groups (lora-eq is LoRA here) may print as -0.0000
			tok = strings.TrimLeft(tok, "+-")
		}
		if !matchesAny(tok, known) && !matchesAny(tok, computed) {
			t.Errorf("report.md number %q is neither in the run files nor computed from them", tok)
		}
	}
}
