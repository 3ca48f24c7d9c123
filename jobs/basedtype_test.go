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
	"github.com/moslora/moslora/safetensors"
	"github.com/moslora/moslora/train"
)

// TestHalfBaseTrainsByteIdenticalAdapters trains a MoSLoRA adapter on base-19m (a bf16
// checkpoint) and on an f16 copy of it, each twice: the base held in its checkpoint's 16 bits (the
// default) and widened to float32 (--base-dtype f32, the storage before issue 16): the adapter
// files must be byte-identical, and train_config.json records the values the base computed with
// ("bf16", "f16"; --base-dtype f16 on the bf16 checkpoint: "f16").
func TestHalfBaseTrainsByteIdenticalAdapters(t *testing.T) {
	base := shared.Path(t, "models", "base-19m")
	dir := t.TempDir()
	data, cfg := countingRun(t, dir)
	for _, c := range []struct{ name, model, values string }{{"bf16", base, "bf16"}, {"f16", f16Copy(t, base), "f16"}} {
		var files [][]byte
		for _, dt := range []string{"auto", "f32"} {
			out := filepath.Join(dir, c.name+"-"+dt)
			if _, err := Train(context.Background(), cfg, TrainFiles{ModelDir: c.model, Data: data, Out: out, BaseDtype: dt}, &strings.Builder{}); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(out, "adapter_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, b)
			if v := recordedBase(t, out); v.BaseValues != c.values {
				t.Errorf("%s checkpoint, --base-dtype %s: train_config.json records base_values %q, want %q", c.name, dt, v.BaseValues, c.values)
			}
		}
		if !bytes.Equal(files[0], files[1]) {
			t.Fatalf("adapters trained with the %s checkpoint's base held in %s and in float32 differ", c.name, c.name)
		}
	}
	cfg.Steps = 1
	out := filepath.Join(dir, "bf16-as-f16")
	if _, err := Train(context.Background(), cfg, TrainFiles{ModelDir: base, Data: data, Out: out, BaseDtype: "f16"}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if v := recordedBase(t, out); v.BaseDtype != "f16" || v.BaseValues != "f16" {
		t.Errorf("--base-dtype f16: train_config.json records base_dtype %q, base_values %q; want f16, f16", v.BaseDtype, v.BaseValues)
	}
	if _, err := Train(context.Background(), cfg, TrainFiles{ModelDir: base, Data: data, Out: filepath.Join(dir, "bad"), BaseDtype: "int3"}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "--base-dtype") {
		t.Fatalf("an unknown --base-dtype gave %v, expected an error naming the flag", err)
	}
}

// baseRecord is what train_config.json says of the base.
type baseRecord struct {
	BaseDtype  string `json:"base_dtype"`
	BaseValues string `json:"base_values"`
}

// recordedBase reads the base record of the run in out.
func recordedBase(t *testing.T, out string) baseRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "train_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r baseRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// f16Copy writes model folder dir with its weights rounded to IEEE half (an F16 checkpoint, its
// config declaring "float16") into a temporary folder and returns it.
func f16Copy(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	var ts []safetensors.Tensor
	for _, name := range set.Names() {
		v, info, err := set.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, safetensors.FromFloat32As(name, info.Shape, v, safetensors.F16))
	}
	if err := safetensors.WriteFile(filepath.Join(out, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "model.safetensors" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "config.json" {
			b = bytes.ReplaceAll(b, []byte(`"bfloat16"`), []byte(`"float16"`))
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
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
	if info := recordedBase(t, out); info.BaseDtype != "auto" || info.BaseValues != "bf16" {
		t.Errorf("train_config.json records base_dtype %q, base_values %q; want auto, bf16", info.BaseDtype, info.BaseValues)
	}
	err := run("q8", true)
	if err == nil || !strings.Contains(err.Error(), "base-dtype") || !strings.Contains(err.Error(), "bf16") {
		t.Fatalf("resuming a bf16-base run with --base-dtype q8: %v, want an error naming base-dtype and bf16", err)
	}
	t.Logf("q8 resume: %v", err)
	if err := run("f32", true); err != nil {
		t.Errorf("resuming a bf16-checkpoint run with --base-dtype f32 (the same bits): %v", err)
	}
}
