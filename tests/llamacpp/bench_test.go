package llamacpp

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/bench"
	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/internal/tinymodel"
)

// TestBenchCompareLlamaCppReportsBothEngines: bench --compare llamacpp's runner gives one row per
// engine (ours, llama.cpp per GGUF type) with positive prompt and decode rates.
func TestBenchCompareLlamaCppReportsBothEngines(t *testing.T) {
	llamaCpp(t)
	node, _ := exec.LookPath("node")
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	var out, log strings.Builder
	o := bench.LlamaCppOptions{ModelDir: tinymodel.Folder(t, "llama", tinymodel.PreQwen2), Dir: dir, Node: node,
		OutTypes: []export.GGUFOutType{export.OutF32, export.OutQ8_0}, Threads: 1, Prompt: 16, Decode: 8, Rounds: 1, JSON: true}
	if err := bench.RunLlamaCpp(context.Background(), o, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var engines []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r bench.LlamaCppRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if !(r.PromptTokS > 0 && r.DecodeTokS > 0 && r.Threads == 1 && r.PromptTokens == 16) {
			t.Errorf("row %+v", r)
		}
		engines = append(engines, r.Engine)
	}
	if strings.Join(engines, ",") != "moslora f32,llama.cpp f32,llama.cpp q8_0" {
		t.Errorf("engines %v", engines)
	}
}
