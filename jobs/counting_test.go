package jobs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/train"
)

// countingRun writes 8 "Count to N" prompt/completion rows into dir/train.jsonl and returns that
// file with the small MoSLoRA configuration the base-dtype and compute tests train on base-19m
// (r 4, alpha 8, 3 updates of 4 sequences, max length 48, warm-up 1).
func countingRun(t *testing.T, dir string) (string, train.Config) {
	t.Helper()
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
	return data, cfg
}
