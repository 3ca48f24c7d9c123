package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/train"
)

// TestBF16BaseTrainsByteIdenticalAdapters trains a MoSLoRA adapter on base-19m (a bf16
// checkpoint) twice, the base held in bf16 (the default) and widened to float32 (--base-dtype
// f32, the storage before issue 16): the adapter files must be byte-identical.
func TestBF16BaseTrainsByteIdenticalAdapters(t *testing.T) {
	base := shared.Path(t, "models", "base-19m")
	dir := t.TempDir()
	data, cfg := countingRun(t, dir)
	var files [][]byte
	for _, dt := range []string{"auto", "f32"} {
		out := filepath.Join(dir, "out-"+dt)
		if _, err := Train(context.Background(), cfg, TrainFiles{ModelDir: base, Data: data, Out: out, BaseDtype: dt}, &strings.Builder{}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "adapter_model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("adapters trained with the base held in bf16 and in float32 differ")
	}
	if _, err := Train(context.Background(), cfg, TrainFiles{ModelDir: base, Data: data, Out: filepath.Join(dir, "bad"), BaseDtype: "int3"}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "--base-dtype") {
		t.Fatalf("an unknown --base-dtype gave %v, expected an error naming the flag", err)
	}
}

// TestResumeRefusesAnotherBase: a run records --base-dtype and its base values in
// train_config.json and each checkpoint; --resume with a --base-dtype that computes with other
// values (q8 after bf16) is an error naming the flag, while one with the same values (f32 on the
// bf16 checkpoint base-19m: the same bits) resumes.
func TestResumeRefusesAnotherBase(t *testing.T) {
	base := shared.Path(t, "models", "base-19m")
	dir := t.TempDir()
	data := filepath.Join(dir, "train.jsonl")
	var rows strings.Builder
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&rows, `{"prompt": "Count to %d:", "completion": " %s"}`+"\n", i, strings.Repeat("one two ", i+1))
	}
	if err := os.WriteFile(data, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := train.DefaultConfig()
	cfg.Method, cfg.Rank, cfg.Alpha, cfg.Steps, cfg.Epochs, cfg.Batch, cfg.MaxLen, cfg.Warmup = train.MethodLoRA, 4, 8, 2, 0, 4, 32, 0
	out := filepath.Join(dir, "out")
	run := func(dt string, resume bool) error {
		_, err := Train(context.Background(), cfg, TrainFiles{ModelDir: base, Data: data, Out: out, BaseDtype: dt, Resume: resume, SaveEvery: 1}, &strings.Builder{})
		return err
	}
	if err := run("auto", false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "train_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		BaseDtype  string `json:"base_dtype"`
		BaseValues string `json:"base_values"`
	}
	if err := json.Unmarshal(b, &info); err != nil || info.BaseDtype != "auto" || info.BaseValues != "bf16" {
		t.Errorf("train_config.json records base_dtype %q, base_values %q (%v); want auto, bf16", info.BaseDtype, info.BaseValues, err)
	}
	err = run("q8", true)
	if err == nil || !strings.Contains(err.Error(), "base-dtype") || !strings.Contains(err.Error(), "bf16") {
		t.Fatalf("resuming a bf16-base run with --base-dtype q8: %v, want an error naming base-dtype and bf16", err)
	}
	t.Logf("q8 resume: %v", err)
	if err := run("f32", true); err != nil {
		t.Errorf("resuming a bf16-checkpoint run with --base-dtype f32 (the same bits): %v", err)
	}
}
