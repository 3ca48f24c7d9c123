package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

func TestInspectDescribesModel(t *testing.T) {
	dir := filepath.Join(shared.Path(t, "fixtures", "hf", "llama3"), "model")
	out, err := runCLI(t, "inspect", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LlamaForCausalLM", "kv-heads 2", "head_dim 16", "vocab          384", "llama3 theta=500000", "tied embedding true", "F32"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
}
