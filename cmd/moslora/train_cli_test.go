package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/defaults"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// extractDefault copies the embedded default model and task set into a temporary folder.
func extractDefault(t *testing.T) defaults.Paths {
	t.Helper()
	p, err := defaults.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// trainSmall runs `moslora train` on the embedded default with a few small updates plus extra
// flags, and returns the output folder and what the command printed.
func trainSmall(t *testing.T, p defaults.Paths, out string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"train", "--model", p.ModelDir, "--data", p.Train, "--out", out,
		"--limit", "16", "--batch", "4"}, extra...)
	return runCLI(t, args...)
}

// tensorNames returns the tensor names of a safetensors file.
func tensorNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return append([]string(nil), f.Names()...)
}

// countContaining counts the names containing sub.
func countContaining(names []string, sub string) int {
	n := 0
	for _, s := range names {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// readAdapterConfig parses adapter_config.json of out as a JSON object.
func readAdapterConfig(t *testing.T, out string) map[string]any {
	t.Helper()
	var cfg map[string]any
	shared.ReadJSON(t, filepath.Join(out, "adapter_config.json"), &cfg)
	return cfg
}

// readMetrics parses metrics.jsonl of out, failing on any line that is not a JSON object, and
// returns the "step" and "loss" of each line.
func readMetrics(t *testing.T, out string) (steps []int, losses []float64) {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var m struct {
			Step *int     `json:"step"`
			Loss *float64 `json:"loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics.jsonl:%d: %v: %s", line, err, sc.Text())
		}
		if m.Step == nil || m.Loss == nil {
			t.Fatalf("metrics.jsonl:%d: no step or loss: %s", line, sc.Text())
		}
		steps = append(steps, *m.Step)
		losses = append(losses, *m.Loss)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return steps, losses
}

// TestTrainMoSLoRAWritesAdapter trains 3 MoSLoRA updates and checks the PEFT adapter folder:
// lora_use_mixer in the config, lora_A / lora_B / lora_AB tensors, one metrics line per update.
func TestTrainMoSLoRAWritesAdapter(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	stdout, err := trainSmall(t, p, out, "--method", "moslora", "--steps", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "trained moslora: 3 updates") {
		t.Errorf("stdout does not report 3 moslora updates:\n%s", stdout)
	}
	cfg := readAdapterConfig(t, out)
	if cfg["lora_use_mixer"] != true {
		t.Errorf("adapter_config.json: lora_use_mixer = %v, want true", cfg["lora_use_mixer"])
	}
	names := tensorNames(t, filepath.Join(out, "adapter_model.safetensors"))
	a, bb, ab := countContaining(names, ".lora_A."), countContaining(names, ".lora_B."), countContaining(names, ".lora_AB.")
	t.Logf("%d tensors: %d lora_A, %d lora_B, %d lora_AB", len(names), a, bb, ab)
	if a == 0 || a != bb || a != ab {
		t.Errorf("want equal, non-zero numbers of lora_A, lora_B and lora_AB tensors; got %d, %d, %d", a, bb, ab)
	}
	steps, losses := readMetrics(t, out)
	if len(steps) != 3 {
		t.Fatalf("metrics.jsonl has %d lines, want 3", len(steps))
	}
	for i, s := range steps {
		if s != i+1 {
			t.Errorf("metrics.jsonl line %d: step %d, want %d", i+1, s, i+1)
		}
		if !(losses[i] > 0) {
			t.Errorf("metrics.jsonl line %d: loss %v, want > 0", i+1, losses[i])
		}
	}
}

// TestTrainLoRAWritesNoMixer checks that plain LoRA saves no lora_AB tensor and no mixer flag.
func TestTrainLoRAWritesNoMixer(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := trainSmall(t, p, out, "--method", "lora", "--steps", "1"); err != nil {
		t.Fatal(err)
	}
	names := tensorNames(t, filepath.Join(out, "adapter_model.safetensors"))
	if n := countContaining(names, ".lora_A."); n == 0 {
		t.Errorf("no lora_A tensors in %v", names)
	}
	if n := countContaining(names, "lora_AB"); n != 0 {
		t.Errorf("lora wrote %d lora_AB tensors", n)
	}
	cfg := readAdapterConfig(t, out)
	if v, ok := cfg["lora_use_mixer"]; ok && v != false {
		t.Errorf("adapter_config.json: lora_use_mixer = %v for --method lora", v)
	}
}

// TestTrainFullWritesLoadableModel checks that --method full writes a model folder that
// model.Load reads, with weights that differ from the base after one update.
func TestTrainFullWritesLoadableModel(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	// --warmup 0: with warm-up the first update's learning rate is 0 and would change nothing.
	if _, err := trainSmall(t, p, out, "--method", "full", "--steps", "1", "--warmup", "0"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "adapter_model.safetensors")); err == nil {
		t.Error("--method full also wrote adapter_model.safetensors")
	}
	if _, err := model.Load(out); err != nil {
		t.Fatalf("model.Load of the full fine-tune output: %v", err)
	}
	const key = "model.layers.0.self_attn.q_proj.weight"
	read := func(path string) []float32 {
		f, err := safetensors.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		v, _, err := f.Float32(key)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return v
	}
	base, tuned := read(filepath.Join(p.ModelDir, "model.safetensors")), read(filepath.Join(out, "model.safetensors"))
	if len(base) != len(tuned) {
		t.Fatalf("%s: %d values after training, %d before", key, len(tuned), len(base))
	}
	maxDiff := 0.0
	for i := range base {
		maxDiff = max(maxDiff, math.Abs(float64(tuned[i]-base[i])))
	}
	t.Logf("%s: max abs change %g after one full update", key, maxDiff)
	if maxDiff == 0 {
		t.Errorf("%s is unchanged after one full update with --warmup 0", key)
	}
}

// TestTrainBadDataLineNamesFileAndLine checks that a malformed JSONL line fails the run with an
// error naming the file and line.
func TestTrainBadDataLineNamesFileAndLine(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	rows := `{"prompt": "### Task: x\n### Answer:", "completion": " yes"}` + "\n" + `{"prompt": "oops", ` + "\n"
	if err := os.WriteFile(bad, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "train", "--model", p.ModelDir, "--data", bad, "--out", filepath.Join(dir, "run"),
		"--steps", "1", "--batch", "1")
	if err == nil {
		t.Fatal("train accepted a malformed JSONL line")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), bad+":2") {
		t.Errorf("error does not name %s:2: %v", bad, err)
	}
}

// TestTrainResumeFinishedRun runs --resume on the folder of a finished run: with the same
// settings it continues from the last checkpoint (step 2 of 4) and ends with the same metrics as
// the run itself; with a different learning rate it fails naming the setting.
func TestTrainResumeFinishedRun(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	flags := []string{"--method", "moslora", "--steps", "4", "--save-every", "2"}
	if _, err := trainSmall(t, p, out, flags...); err != nil {
		t.Fatal(err)
	}
	_, want := readMetrics(t, out)
	if _, err := os.Stat(filepath.Join(out, "checkpoint-2")); err != nil {
		t.Fatalf("no checkpoint-2 after --save-every 2 --steps 4: %v", err)
	}

	_, err := trainSmall(t, p, out, append(flags, "--resume", "--lr", "0.5")...)
	if err == nil {
		t.Error("--resume with a different --lr succeeded")
	} else if !strings.Contains(err.Error(), "different settings") || !strings.Contains(strings.ToLower(err.Error()), "lr") {
		t.Errorf("--resume with a different --lr: error does not name the setting: %v", err)
	} else {
		t.Logf("different --lr: %v", err)
	}

	stdout, err := trainSmall(t, p, out, append(flags, "--resume")...)
	if err != nil {
		t.Fatalf("--resume on a finished run: %v", err)
	}
	if !strings.Contains(stdout, "4 updates") {
		t.Errorf("--resume did not end at 4 updates:\n%s", stdout)
	}
	steps, got := readMetrics(t, out)
	if len(steps) != 4 {
		t.Fatalf("metrics.jsonl after --resume has steps %v, want 1..4", steps)
	}
	for i := range steps {
		if steps[i] != i+1 {
			t.Errorf("metrics.jsonl line %d after --resume: step %d", i+1, steps[i])
		}
		if d := got[i] - want[i]; d > numtest.F32 || d < -numtest.F32 {
			t.Errorf("step %d: loss %v after --resume, %v in the run itself", i+1, got[i], want[i])
		}
	}
}
