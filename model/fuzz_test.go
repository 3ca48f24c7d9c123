package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/allocs"
	"github.com/moslora/moslora/internal/shared"
)

// configBound: a config.json is parsed into a struct and a few per-layer lists.
var configBound = allocs.Bound{PerByte: 32, Fixed: 1 << 20}

// FuzzConfig feeds arbitrary bytes to the config.json parser: it must never panic or allocate
// more than a multiple of its input (a huge "num_hidden_layers" must not size a list before it is
// checked), and an accepted config must have positive dimensions that fit together.
//
//	go test -run '^$' -fuzz FuzzConfig -fuzztime 60s ./model/
func FuzzConfig(f *testing.F) {
	seeds := []string{
		`{"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 2, "vocab_size": 32, "rms_norm_eps": 1e-5}`,
		`{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 2, "vocab_size": 32, "sliding_window": 4, "use_sliding_window": true, "max_window_layers": 1}`,
		`{"architectures": ["GPT2LMHeadModel"], "n_embd": 8, "n_head": 2, "n_layer": 2, "n_positions": 16, "vocab_size": 32}`,
		`{"architectures": ["MistralForCausalLM"], "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1, "vocab_size": 32, "rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 8192}}`,
		`{"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 1000000000000, "layer_types": ["full_attention"]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if root := shared.Root(); root != "" {
		for _, name := range []string{"llama", "llama3", "qwen2", "gpt2"} {
			if b, err := os.ReadFile(filepath.Join(root, "fixtures", "hf", name, "model", "config.json")); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var c *Config
		var err error
		if aerr := configBound.Check("ParseConfig", len(in), func() { c, err = ParseConfig(in) }); aerr != nil {
			t.Fatal(aerr)
		}
		if err != nil {
			if strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "Go value") {
				t.Fatalf("error names Go types: %v", err)
			}
			return
		}
		if c.HiddenSize <= 0 || c.NumHiddenLayers <= 0 || c.VocabSize <= 0 || c.HeadDim <= 0 ||
			c.NumKeyValueHeads <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
			b, _ := json.Marshal(c)
			t.Fatalf("accepted a config with unusable dimensions: %s", b)
		}
		if len(c.Windows) != 0 && len(c.Windows) != c.NumHiddenLayers {
			t.Fatalf("%d layer windows for %d layers", len(c.Windows), c.NumHiddenLayers)
		}
	})
}
