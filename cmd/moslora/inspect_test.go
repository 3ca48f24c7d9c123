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

func TestInspectDescribesGemma3AndQwen3(t *testing.T) {
	for fam, wants := range map[string][]string{
		"gemma3": {"Gemma3ForCausalLM", "sliding window 8 (5 of 6 layers)", "global layers default theta=1e+06; sliding layers default theta=10000",
			"q/k norm, (1 + w) norms, post-attention and pre/post feed-forward norms, embeddings ×8\n", "gelu_pytorch_tanh"},
		"qwen3": {"Qwen3ForCausalLM", "head_dim 32", "block          q/k norm\n", "default theta=1e+06"},
	} {
		out, err := runCLI(t, "inspect", filepath.Join(shared.Path(t, "fixtures", "hf", fam), "model"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("inspect %s lacks %q:\n%s", fam, want, out)
			}
		}
	}
}
