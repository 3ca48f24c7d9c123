package jobs

import (
	"bytes"
	"context"
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
	var rows strings.Builder
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&rows, `{"prompt": "Count to %d:", "completion": " %s"}`+"\n", i, strings.Repeat("one two three ", i+1))
	}
	data := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(data, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := train.DefaultConfig()
	cfg.Method, cfg.Rank, cfg.Alpha, cfg.Steps, cfg.Epochs, cfg.Batch, cfg.MaxLen, cfg.Warmup = train.MethodMoSLoRA, 4, 8, 3, 0, 4, 48, 1
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
