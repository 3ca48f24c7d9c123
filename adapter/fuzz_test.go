package adapter

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/allocs"
	"github.com/moslora/moslora/internal/shared"
)

// adapterConfigBound: an adapter config decodes into a struct, a few maps and compiled patterns.
var adapterConfigBound = allocs.Bound{PerByte: 64, Fixed: 1 << 20}

// FuzzAdapterConfig feeds arbitrary bytes to the adapter_config.json parser: it must never panic,
// allocate more than a multiple of its input or name Go types in an error; an accepted config
// must write (as Save writes it) to JSON that reads back to the same adapter.
//
//	go test -run '^$' -fuzz FuzzAdapterConfig -fuzztime 60s ./adapter/
func FuzzAdapterConfig(f *testing.F) {
	for _, s := range []string{
		`{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}`,
		`{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": "all-linear", "use_rslora": true}`,
		`{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ".*\\.(q|v)_proj", "lora_use_mixer": true, "mixer_init": "orthogonal"}`,
		`{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "moslora_mixer": "gated", "moslora_subspaces": 2, "rank_pattern": {"q_proj": 2}, "alpha_pattern": {}, "layers_to_transform": [0], "layers_pattern": "layers"}`,
		`{"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"], "init_lora_weights": "gaussian", "exclude_modules": ["lm_head"], "base_model_name_or_path": "x"}`,
	} {
		f.Add([]byte(s))
	}
	if root := shared.Root(); root != "" {
		for _, d := range []string{"llama/lora_r4", "llama/rslora_r8_qv", "qwen2/moslora_r4", "gpt2/lora_r4"} {
			if b, err := os.ReadFile(filepath.Join(root, "fixtures", "hf", d, ConfigFile)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var c Config
		var err error
		if aerr := adapterConfigBound.Check("ParseConfig", len(in), func() { c, err = ParseConfig(in) }); aerr != nil {
			t.Fatal(aerr)
		}
		if err != nil {
			if strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "Go value") {
				t.Fatalf("error names Go types: %v", err)
			}
			return
		}
		out, err := c.configJSON()
		if err != nil {
			t.Fatalf("an accepted config does not encode: %v", err)
		}
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("written config does not read back: %v\n%s", err, out)
		}
		again, _ := back.configJSON()
		if string(again) != string(out) || back.MixerKind() != c.MixerKind() || back.R != c.R ||
			back.LoraAlpha != c.LoraAlpha || back.Scaling(c.R, c.LoraAlpha) != c.Scaling(c.R, c.LoraAlpha) ||
			!reflect.DeepEqual(back.TargetModules, c.TargetModules) {
			t.Fatalf("round trip changed the config:\n%s\n%s", out, again)
		}
	})
}

// Validating a config does not build its mixer: a dense mixer of rank 10⁶ (4 TB as r×r floats)
// parses within the memory bound instead of exhausting memory.
func TestHugeRankConfigValidatesWithoutAllocating(t *testing.T) {
	in := []byte(`{"peft_type": "LORA", "r": 1000000, "lora_alpha": 8, "target_modules": ["q_proj"], "lora_use_mixer": true}`)
	var err error
	if aerr := adapterConfigBound.Check("ParseConfig", len(in), func() { _, err = ParseConfig(in) }); aerr != nil {
		t.Fatal(aerr)
	}
	if err != nil {
		t.Fatalf("a valid (if large) config was refused: %v", err)
	}
}
