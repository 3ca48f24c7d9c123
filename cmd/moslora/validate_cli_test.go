package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/setting"
	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/safetensors"
	"github.com/moslora/moslora/train"
)

// Every bad value is refused before any work with a message that names the flag (or file, line
// and field) and no Go internals, and the output folder is left exactly as it was (here: never
// created).
func TestBadInputsAreRefusedUpFrontNamingTheProblem(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	numberCompletion := write("number.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"prompt\": \"a\", \"completion\": 3}\n")
	alpaca := write("alpaca.jsonl", `{"instruction": "Say hi", "input": "", "output": "hi"}`+"\n")
	latin1 := write("latin1.jsonl", "{\"text\": \"caf\xe9\"}\n")
	modelFile := filepath.Join(p.ModelDir, "config.json")
	out := filepath.Join(dir, "out")
	train := func(extra ...string) []string {
		return append([]string{"train", "--model", p.ModelDir, "--data", p.Train, "--out", out, "--steps", "1"}, extra...)
	}
	cases := []struct {
		args []string
		want []string
	}{
		{train("--rank", "100000"), []string{"--rank 100000", "expected 1 to 64"}},
		{train("--alpha", "0"), []string{"--alpha 0", "positive"}},
		{train("--alpha", "NaN"), []string{"--alpha NaN"}},
		{train("--clip", "-1"), []string{"--clip -1", "≥ 0"}},
		{train("--weight-decay", "Inf"), []string{"--weight-decay +Inf"}},
		{train("--limit", "-3"), []string{"--limit -3", "≥ 0"}},
		{train("--save-every", "-1"), []string{"--save-every -1"}},
		{train("--eval-limit", "-1"), []string{"--eval-limit -1"}},
		{train("--keep", "0"), []string{"--keep 0", "≥ 1"}},
		{train("--mixer-init", "zeros"), []string{`--mixer-init "zeros"`, "kaiming, orthogonal or identity"}},
		{train("--targets", "attn"), []string{`"attn" matches no linear layer`, "q_proj", "all-linear"}},
		{[]string{"train", "--model", modelFile, "--data", p.Train, "--out", out}, []string{"is a file", "local Hugging Face model folder"}},
		{[]string{"train", "--model", filepath.Join(dir, "nope"), "--data", p.Train, "--out", out}, []string{"no such folder", "Hugging Face model folder"}},
		{[]string{"train", "--model", p.ModelDir, "--data", filepath.Join(dir, "none.jsonl"), "--out", out}, []string{"--data", "no such file"}},
		{[]string{"train", "--model", p.ModelDir, "--data", p.Train, "--out", filepath.Join(p.ModelDir, "run")}, []string{"model folder"}},
		{[]string{"train", "--model", p.ModelDir, "--data", numberCompletion, "--out", out}, []string{numberCompletion + ":3", `"completion" must be a string, got a number`}},
		{[]string{"train", "--model", p.ModelDir, "--data", alpaca, "--out", out}, []string{alpaca + ":1", "Alpaca", `"prompt"`}},
		{[]string{"train", "--model", p.ModelDir, "--data", latin1, "--out", out}, []string{latin1 + ":1", "UTF-8"}},
		{[]string{"eval", "--model", p.ModelDir, "--data", p.Test, "--limit", "-1"}, []string{"--limit -1"}},
		{[]string{"eval", "--model", p.ModelDir, "--data", p.Test, "--batch-tokens", "-5"}, []string{"--batch-tokens -5"}},
		{[]string{"eval", "--model", modelFile, "--data", p.Test}, []string{"is a file", "model folder"}},
		{[]string{"demo", "--rows", "-1"}, []string{"--rows -1"}},
		{[]string{"demo", "--per-task", "-2"}, []string{"--per-task -2"}},
		{[]string{"generate", "--model", p.ModelDir, "--top-p", "2", "hi"}, []string{"top"}},
		{[]string{"generate", "--model", p.ModelDir, "--max-new-tokens", "0", "hi"}, []string{"--max-new-tokens 0"}},
		{[]string{"generate", "--model", p.ModelDir, strings.Repeat("word ", 600)}, []string{"positions"}},
		{[]string{"merge", "--model", p.ModelDir, "--adapter", p.ModelDir, "--out", p.ModelDir, "--force"}, []string{"merge:", "--out", "even with --force"}},
		{[]string{"export", "--model", p.ModelDir, "--adapter", dir, "--format", "peft", "--out", filepath.Join(dir, "peft"), "--force"}, []string{"export:", "--adapter folder", "inside it"}},
	}
	for _, c := range cases {
		stdout, err := runCLI(t, c.args...)
		name := strings.Join(c.args[:min(len(c.args), 12)], " ")
		if len(name) > 140 {
			name = name[:140]
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", name, err, w)
			}
		}
		noGoInternals(t, err.Error())
		if c.args[0] == "generate" && stdout != "" {
			t.Errorf("%s: printed %q before failing", name, stdout)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Fatalf("%s: created the output folder %s", name, out)
		}
	}
}

// --targets all-linear adapts every linear layer but the output head, as in PEFT.
func TestTrainAllLinearTargetsEveryLinearLayer(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := trainSmall(t, p, out, "--steps", "1", "--method", "lora", "--targets", "all-linear", "--rank", "2"); err != nil {
		t.Fatal(err)
	}
	names := tensorNames(t, filepath.Join(out, "adapter_model.safetensors"))
	// 4 layers × 7 projections, each with lora_A and lora_B; no lm_head.
	if n := countContaining(names, "lora_A"); n != 28 || countContaining(names, "lm_head") != 0 {
		t.Errorf("all-linear gave %d lora_A tensors (want 28) and lm_head %d", n, countContaining(names, "lm_head"))
	}
}

// eval and generate stop at non-finite logits and name where they appeared, instead of printing
// "-" or a token chosen from NaNs.
func TestNonFiniteLogitsAreNamed(t *testing.T) {
	p := extractDefault(t)
	broken := filepath.Join(t.TempDir(), "model")
	if err := os.CopyFS(broken, os.DirFS(p.ModelDir)); err != nil {
		t.Fatal(err)
	}
	// Poison the final norm so every logit is NaN.
	path := filepath.Join(broken, "model.safetensors")
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		v, info, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "model.norm.weight" {
			v[0] = float32(math.NaN())
		}
		ts = append(ts, safetensors.FromFloat32(name, info.Shape, v))
	}
	f.Close()
	if err := safetensors.WriteFile(path, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	_, err = runCLI(t, "eval", "--model", broken, "--data", p.Test, "--limit", "3")
	if err == nil || !strings.Contains(err.Error(), "NaN") || !strings.Contains(err.Error(), "position") {
		t.Errorf("eval on NaN logits: %v", err)
	}
	_, err = runCLI(t, "generate", "--model", broken, "--max-new-tokens", "3", "hello")
	if err == nil || !strings.Contains(err.Error(), "NaN") || !strings.Contains(err.Error(), "position") {
		t.Errorf("generate on NaN logits: %v", err)
	}
}

// --version prints the module version and the commit the binary was built from.
func TestVersionFlagPrintsVersionAndCommit(t *testing.T) {
	out, err := runCLI(t, "--version")
	if err != nil || !strings.HasPrefix(out, "moslora ") || !strings.Contains(out, "commit ") {
		t.Fatalf("--version: %q, %v", out, err)
	}
}

// merge's errors say "merge:" and speak of commands, not of Go functions.
func TestMergeErrorsSayMergeAndNameNoGoFunctions(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	gated := filepath.Join(dir, "gated")
	if _, err := trainSmall(t, p, gated, "--steps", "1", "--method", "gated", "--subspaces", "2", "--rank", "4"); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "merge", "--model", p.ModelDir, "--adapter", gated, "--out", filepath.Join(dir, "merged"))
	if err == nil || !strings.HasPrefix(err.Error(), "merge: ") || !strings.Contains(err.Error(), "moslora generate --adapter") {
		t.Fatalf("merging a gated adapter: %v", err)
	}
	for _, goName := range []string{"Save", "Fold", "Merge(", "export:"} {
		if strings.Contains(err.Error(), goName) {
			t.Errorf("message names %q: %v", goName, err)
		}
	}
}

// The same bad setting: the library (jobs, train) names it by key, the CLI — returned error,
// the message main prints, and warnings — by its flag.
func TestLibraryErrorsNameSettingsAndTheCLIPrintsFlags(t *testing.T) {
	err := (&jobs.Demo{TrainRows: -1}).Validate()
	if se, ok := setting.As(err); !ok || se.Setting != "rows" || err.Error() != "demo: rows -1: expected a number ≥ 0 (0 for all rows)" {
		t.Errorf("library error %q (%#v)", err, se)
	}
	cfg := train.DefaultConfig()
	cfg.Alpha = 0
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "--") || !strings.HasPrefix(err.Error(), "train: alpha 0:") {
		t.Errorf("library error %q", err)
	}
	if _, err := runCLI(t, "demo", "--rows", "-1"); err == nil || err.Error() != "demo: --rows -1: expected a number ≥ 0 (0 for all rows)" {
		t.Errorf("CLI error %q", err)
	}
	if _, err := runCLI(t, "demo", "--rows", "-1"); !errors.As(err, new(*setting.Error)) {
		t.Errorf("the CLI's error lost the setting error underneath: %#v", err)
	}

	p := extractDefault(t)
	var stderr bytes.Buffer
	cmd := moslora(t, &stderr, "train", "--model", p.ModelDir, "--data", p.Train, "--out", filepath.Join(t.TempDir(), "out"),
		"--method", "lora", "--subspaces", "2", "--alpha", "0")
	if cmd.Run() == nil {
		t.Fatal("--alpha 0 accepted")
	}
	for _, want := range []string{
		"warning: --subspaces 2 is ignored: only --method global, gated and gated-topk split the rank into subspaces, not lora\n",
		"moslora: train: --alpha 0: expected a positive finite number (the adapter's scale is alpha/rank)\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
}
