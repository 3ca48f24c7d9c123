package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/train"
)

// TestTrainEndToEnd trains a tiny base model from random initialisation (full, as the
// embedded default is made), reloads it from its output folder to train a MoSLoRA adapter with an
// eval file, and checks that evaluating the saved adapter from disk reproduces the in-memory
// evaluation exactly.
func TestTrainEndToEnd(t *testing.T) {
	tokDir := shared.Path(t, "fixtures", "hf", "tokenizers", "small_bytelevel")
	dir := t.TempDir()
	base := filepath.Join(dir, "config")
	os.MkdirAll(base, 0o755)
	tj, err := os.ReadFile(filepath.Join(tokDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(base, "tokenizer.json"), tj, 0o644)
	os.WriteFile(filepath.Join(base, "tokenizer_config.json"), []byte(`{"eos_token": "<|endoftext|>"}`), 0o644)
	os.WriteFile(filepath.Join(base, "config.json"), []byte(`{"architectures": ["LlamaForCausalLM"], "vocab_size": 1000,
 "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
 "num_key_value_heads": 1, "head_dim": 8, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
 "hidden_act": "silu", "tie_word_embeddings": true, "rope_theta": 10000, "dtype": "bfloat16"}`), 0o644)

	var rows strings.Builder
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&rows, `{"task": "cls", "prompt": "Is %d even?\nAnswer:", "completion": " %s", "choices": [" yes", " no"]}`+"\n", i, map[bool]string{true: "yes", false: "no"}[i%2 == 0])
		fmt.Fprintf(&rows, `{"task": "gen", "prompt": "Say %d:", "completion": " %d", "answers": ["%d", "x%d"]}`+"\n", i, i, i, i)
	}
	rows.WriteString(`{"text": "plain text rows train the base model too"}` + "\n")
	dataPath := filepath.Join(dir, "train.jsonl")
	os.WriteFile(dataPath, []byte(rows.String()), 0o644)

	cfg := train.DefaultConfig()
	cfg.Method, cfg.Steps, cfg.Epochs, cfg.Batch, cfg.Warmup, cfg.MaxLen, cfg.LR = train.MethodFull, 3, 0, 8, 1, 32, 3e-3
	cfg.Pack = true // the base model trains on packed sequences
	baseOut := filepath.Join(dir, "base")
	s, err := Train(context.Background(), cfg, TrainFiles{ModelDir: base, InitRandom: true, Data: dataPath, Out: baseOut}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Result.Steps != 3 || s.Rows != 25 {
		t.Fatalf("full run: %d steps, %d rows", s.Result.Steps, s.Rows)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", train.MetricsFile, "train_config.json"} {
		if _, err := os.Stat(filepath.Join(baseOut, f)); err != nil {
			t.Errorf("full output lacks %s", f)
		}
	}
	var saved map[string]any
	b, _ := os.ReadFile(filepath.Join(baseOut, "config.json"))
	if json.Unmarshal(b, &saved); saved["dtype"] != "float32" {
		t.Errorf("saved config dtype %v, want float32", saved["dtype"])
	}

	cfg.Method, cfg.Rank, cfg.Alpha, cfg.Pack = train.MethodMoSLoRA, 4, 8, false
	adOut := filepath.Join(dir, "adapter")
	s, err = Train(context.Background(), cfg, TrainFiles{ModelDir: baseOut, Data: dataPath, Eval: dataPath, Out: adOut, SaveEvery: 2}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Eval == nil || s.Eval.Tasks["cls"].Accuracy == nil || s.Eval.Tasks["gen"].ExactMatch == nil {
		t.Fatalf("in-memory eval: %+v", s.Eval)
	}
	fromDisk, _, err := Evaluate(EvalFiles{ModelDir: baseOut, AdapterDir: adOut, Data: dataPath}, eval.Options{MaxLen: cfg.MaxLen})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromDisk, s.Eval) {
		a, _ := json.Marshal(s.Eval)
		b, _ := json.Marshal(fromDisk)
		t.Errorf("evaluation from the saved adapter differs from the in-memory one:\n%s\n%s", a, b)
	}
	noAdapter, _, err := Evaluate(EvalFiles{ModelDir: baseOut, Data: dataPath}, eval.Options{MaxLen: cfg.MaxLen})
	if err != nil {
		t.Fatal(err)
	}
	if *noAdapter.Tasks["gen"].NLL == *fromDisk.Tasks["gen"].NLL {
		t.Error("the adapter changed nothing (same NLL with and without it)")
	}
	if got := filepath.Base(train.LatestCheckpoint(adOut)); got != "checkpoint-2" {
		t.Errorf("latest checkpoint %q, want checkpoint-2", got)
	}
}
