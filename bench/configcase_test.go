package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/model"
)

// TestPresetsHaveTheirModelsParameterCounts: each embedded preset parses, names its source, and
// has the parameter count its model card publishes, within 1% (the counts, hand-checked from the
// shapes: SmolLM2-135M 134,515,008; Qwen2.5-0.5B 494,032,768; Llama-3.2-1B 1,235,814,400;
// Qwen2.5-1.5B 1,543,714,304; Mistral-7B-v0.1 7,241,732,096; Qwen2.5-7B 7,615,616,512).
func TestPresetsHaveTheirModelsParameterCounts(t *testing.T) {
	published := map[string]float64{ // model cards / hub pages
		"smollm2-135m": 135e6,
		"qwen2.5-0.5b": 0.49e9,
		"llama-3.2-1b": 1.23e9,
		"qwen2.5-1.5b": 1.54e9,
		"mistral-7b":   7.24e9,
		"qwen2.5-7b":   7.61e9,
	}
	exact := map[string]int64{
		"smollm2-135m": 134_515_008,
		"qwen2.5-0.5b": 494_032_768,
		"llama-3.2-1b": 1_235_814_400,
		"qwen2.5-1.5b": 1_543_714_304,
		"mistral-7b":   7_241_732_096,
		"qwen2.5-7b":   7_615_616_512,
	}
	if len(Presets) != len(published) {
		t.Fatalf("%d presets, the test knows %d", len(Presets), len(published))
	}
	for _, name := range Presets {
		b, err := PresetConfig(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"_source"`) {
			t.Errorf("preset %s does not name its source (\"_source\")", name)
		}
		cm, err := LoadConfigModel("", name)
		if err != nil {
			t.Fatalf("preset %s: %v", name, err)
		}
		n := cm.Config.NumParams()
		t.Logf("%s: %d parameters (%s)", name, n, cm.Config.Architecture)
		if rel := math.Abs(float64(n)-published[name]) / published[name]; rel > 0.01 {
			t.Errorf("preset %s: %d parameters, %.1f%% from the published %.3gB", name, n, 100*rel, published[name]/1e9)
		}
		if n != exact[name] {
			t.Errorf("preset %s: %d parameters, hand count %d", name, n, exact[name])
		}
		if _, err := Count(cm.Config, MethodLoRA, Rank, Seq); err != nil {
			t.Errorf("preset %s: FLOPs: %v", name, err)
		}
	}
}

// TestBadConfigOrPresetErrorsNameIt: an unknown preset, a missing or malformed --config file, and
// --config with --preset are errors naming the flag, the file and the key.
func TestBadConfigOrPresetErrorsNameIt(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"architectures": ["LlamaForCausalLM"], "hidden_size": "wide"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	gpt2 := filepath.Join(dir, "gpt2.json")
	if err := os.WriteFile(gpt2, []byte(`{"architectures": ["GPT2LMHeadModel"], "vocab_size": 50, "n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 32}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, preset string
		want         []string
	}{
		{"", "llama-9b", []string{"--preset", `"llama-9b"`, "llama-3.2-1b"}},
		{filepath.Join(dir, "none.json"), "", []string{"--config", "none.json"}},
		{bad, "", []string{"--config", bad, "hidden_size"}},
		{gpt2, "", []string{"--config", gpt2, "GPT2LMHeadModel"}},
		{bad, "smollm2-135m", []string{"--config", "--preset"}},
	} {
		_, err := LoadConfigModel(tc.file, tc.preset)
		if err == nil {
			t.Errorf("LoadConfigModel(%q, %q): no error", tc.file, tc.preset)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("LoadConfigModel(%q, %q) = %q, want it to name %q", tc.file, tc.preset, err, w)
			}
		}
	}
	o := Options{Preset: "smollm2-135m", Batch: 1, Seq: 9000}
	if _, err := o.Cases(); err == nil || !strings.Contains(err.Error(), "max_position_embeddings") || !strings.Contains(err.Error(), "--seq") {
		t.Errorf("--seq past max_position_embeddings: %v", err)
	}
}

// TestConfigModelReplacesTheDefaultCases: with a preset the cases are its four, named after it;
// a method selects its case; the default cases are not offered.
func TestConfigModelReplacesTheDefaultCases(t *testing.T) {
	o := Options{Preset: "llama-3.2-1b", Batch: Batch, Seq: Seq}
	all, err := o.Cases()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(all), " "); got != "llama-3.2-1b/lora llama-3.2-1b/moslora llama-3.2-1b/full llama-3.2-1b/forward" {
		t.Errorf("cases %s", got)
	}
	for _, only := range []string{"lora", "llama-3.2-1b/lora"} {
		cs, err := SelectFrom(all, only)
		if err != nil || len(cs) != 1 || cs[0].Method != MethodLoRA || cs[0].Config == nil {
			t.Errorf("--only %s: %v, %v", only, names(cs), err)
		}
	}
	if _, err := SelectFrom(all, "base-19m/lora"); err == nil || !strings.Contains(err.Error(), "llama-3.2-1b/lora") {
		t.Errorf("--only base-19m/lora with a preset: %v, want an error listing the preset's cases", err)
	}
}

// TestFullFineTuningOfA7BIsRefusedOn24GB: on a 24 GiB machine, full fine-tuning of Mistral-7B
// (16 bytes a parameter) and a float32 7B base are refused with what to change; LoRA on a bf16
// or q8 base is not, and its estimate is the base's size.
func TestFullFineTuningOfA7BIsRefusedOn24GB(t *testing.T) {
	const machine = 24 << 30
	cm, err := LoadConfigModel("", "mistral-7b")
	if err != nil {
		t.Fatal(err)
	}
	cs := ConfigCases(cm)
	full, lora := cs[2], cs[0]
	o := Options{BaseDtype: "bf16"}
	if _, err := o.checkMemoryAgainst(full, cm.Config, machine); err == nil || !strings.Contains(err.Error(), "full fine-tuning") || !strings.Contains(err.Error(), "lora") {
		t.Errorf("mistral-7b/full on 24 GiB: %v, want a refusal naming full fine-tuning and lora", err)
	}
	for _, base := range []string{"bf16", "q8", "auto"} {
		o.BaseDtype = base
		need, err := o.checkMemoryAgainst(lora, cm.Config, machine)
		b, _ := model.ParseBaseDtype(base)
		want, _ := cm.Config.BaseBytes(b)
		if err != nil || need != want || need > 16<<30 {
			t.Errorf("mistral-7b/lora --base-dtype %s: need %d, %v; want %d (< 16 GiB)", base, need, err, want)
		}
	}
	o.BaseDtype = "f32"
	if _, err := o.checkMemoryAgainst(lora, cm.Config, machine); err == nil || !strings.Contains(err.Error(), "--base-dtype") {
		t.Errorf("mistral-7b/lora in float32 on 24 GiB: %v, want a refusal naming --base-dtype", err)
	}
}

// TestConfigCaseRunsAStep: a --config case of a tiny Qwen3 config runs one LoRA step (with
// --recompute, q8 base) and one forward step at the requested batch × seq, in this process.
func TestConfigCaseRunsAStep(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tiny.json")
	js := `{"architectures": ["Qwen3ForCausalLM"], "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
	 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
	 "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "tie_word_embeddings": true, "torch_dtype": "bfloat16"}`
	if err := os.WriteFile(file, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigFile: file, Batch: 2, Seq: 16, Steps: 1, BaseDtype: "q8", Recompute: true}
	all, err := o.Cases()
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	for _, c := range []Case{all[0], all[3]} {
		r, err := RunStep(c, o, &log, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if r.Tokens != 32 || len(r.StepS) != 1 || (c.Method == MethodLoRA && (r.Trainable == 0 || !(r.Loss > 0))) {
			t.Errorf("%s: %+v", c.Name, r)
		}
	}
	if !strings.Contains(log.String(), "tiny/lora: random weights 100%") {
		t.Errorf("no progress of the random weights in the log:\n%s", log.String())
	}
}

// TestConfigCasesAreNamedAfterTheFileOrFolder: --config DIR/llama.json names its cases "llama/…";
// DIR/config.json after the folder.
func TestConfigCasesAreNamedAfterTheFileOrFolder(t *testing.T) {
	b, err := PresetConfig("smollm2-135m")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "SmolLM2-135M")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"llama.json": "llama", "config.json": "SmolLM2-135M"} {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cm, err := LoadConfigModel(p, "")
		if err != nil || cm.Name != want || cm.From != p {
			t.Errorf("--config %s: %+v, %v; want the name %q", p, cm, err, want)
		}
	}
}
