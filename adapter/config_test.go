package adapter

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
)

// fakeBase is a model stand-in: linear layers with random weights under Llama-style paths.
type fakeBase struct{ lins []*model.Linear }

func (f *fakeBase) Linears() []*model.Linear { return f.lins }

// llamaLikeBase has 2 layers of q/k/v/o (64→64, k/v 64→32) and gate/up/down (64↔160).
func llamaLikeBase(seed uint64) *fakeBase {
	f := &fakeBase{}
	shapes := []struct {
		name    string
		in, out int
	}{{"self_attn.q_proj", 64, 64}, {"self_attn.k_proj", 64, 32}, {"self_attn.v_proj", 64, 32},
		{"self_attn.o_proj", 64, 64}, {"mlp.gate_proj", 64, 160}, {"mlp.up_proj", 64, 160}, {"mlp.down_proj", 160, 64}}
	rng := newRNG(int64(seed), "base", "")
	for l := 0; l < 2; l++ {
		for _, s := range shapes {
			w := make([]float32, s.in*s.out)
			mixer.KaimingUniform(w, s.in, rng)
			f.lins = append(f.lins, &model.Linear{Path: fmt.Sprintf("model.layers.%d.%s", l, s.name), In: s.in, Out: s.out, W: w})
		}
	}
	return f
}

func mustParse(t *testing.T, js string) Config {
	t.Helper()
	c, err := ParseConfig([]byte(js))
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", js, err)
	}
	return c
}

func TestParseFixtureConfigs(t *testing.T) {
	hf := shared.Path(t, "fixtures", "hf")
	cases := []struct {
		dir, mixer, init string
		r                int
		rslora           bool
	}{
		{"llama/lora_r4", MixerIdentity, "", 4, false},
		{"llama/rslora_r8_qv", MixerIdentity, "", 8, true},
		{"qwen2/lora_r4", MixerIdentity, "", 4, false},
		{"gpt2/lora_r4", MixerIdentity, "", 4, false},
		{"llama/moslora_r4", MixerDense, InitKaiming, 4, false},
		{"qwen2/moslora_r4", MixerDense, InitOrthogonal, 4, false},
	}
	for _, c := range cases {
		cfg, err := ReadConfig(filepath.Join(hf, c.dir, ConfigFile))
		if err != nil {
			t.Fatalf("%s: %v", c.dir, err)
		}
		if cfg.MixerKind() != c.mixer || cfg.MixerInit != c.init || cfg.R != c.r || cfg.UseRSLoRA != c.rslora {
			t.Fatalf("%s: got mixer %s init %q r %d rslora %v", c.dir, cfg.MixerKind(), cfg.MixerInit, cfg.R, cfg.UseRSLoRA)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	base := `"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]`
	cases := []struct{ extra, field string }{
		{`"use_dora": true`, "use_dora"},
		{`"bias": "all"`, "bias"},
		{`"moslora_mixer": "global", "moslora_subspaces": 3`, "moslora_subspaces"},
		{`"moslora_mixer": "gated"`, "moslora_subspaces"},
		{`"moslora_mixer": "fancy"`, "moslora_mixer"},
		{`"lora_use_mixer": true, "moslora_mixer": "global", "moslora_subspaces": 2`, "moslora_mixer"},
		{`"mixer_init": "xavier", "lora_use_mixer": true`, "mixer_init"},
		{`"lora_dropout": 1.5`, "lora_dropout"},
		{`"init_lora_weights": "pissa"`, "init_lora_weights"},
		{`"modules_to_save": ["lm_head"]`, "modules_to_save"},
		{`"some_future_option": 3`, "some_future_option"},
		{`"rank_pattern": {"q_proj": 6}, "moslora_mixer": "global", "moslora_subspaces": 4`, "moslora_subspaces"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte("{" + base + ", " + c.extra + "}"))
		if err == nil || !strings.Contains(err.Error(), `"`+c.field+`"`) {
			t.Errorf("%s: want an error naming %q, got %v", c.extra, c.field, err)
		}
	}
	// Null or default values of fields we do not implement are accepted.
	mustParse(t, "{"+base+`, "use_dora": false, "eva_config": null, "loftq_config": {}, "layer_replication": null}`)
}

func TestTargetSelectionFollowsPEFT(t *testing.T) {
	b := llamaLikeBase(1)
	paths := func(js string) ([]string, error) {
		c := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, `+js+`}`)
		a, err := New(c, b, 1)
		if err != nil {
			return nil, err
		}
		defer a.Detach()
		var ps []string
		for _, l := range a.Linears {
			ps = append(ps, l.Path)
		}
		return ps, nil
	}
	cases := []struct {
		js   string
		want string
	}{
		{`"target_modules": ["q_proj", "v_proj"]`, "model.layers.0.self_attn.q_proj model.layers.0.self_attn.v_proj model.layers.1.self_attn.q_proj model.layers.1.self_attn.v_proj"},
		{`"target_modules": ["mlp.down_proj"], "layers_to_transform": 1`, "model.layers.1.mlp.down_proj"},
		{`"target_modules": ".*\\.0\\.mlp\\.(up|down)_proj"`, "model.layers.0.mlp.up_proj model.layers.0.mlp.down_proj"},
		{`"target_modules": ["o_proj"], "exclude_modules": ["model.layers.0.self_attn.o_proj"]`, "model.layers.1.self_attn.o_proj"},
		{`"target_modules": ["o_proj"], "layers_to_transform": [0], "layers_pattern": "layers"`, "model.layers.0.self_attn.o_proj"},
	}
	for _, c := range cases {
		got, err := paths(c.js)
		if err != nil {
			t.Fatalf("%s: %v", c.js, err)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: selected %v, want %s", c.js, got, c.want)
		}
	}
	for _, js := range []string{`"target_modules": ["proj"]`, `"target_modules": ["q_proj", "c_attn"]`, `"target_modules": "q_proj"`} {
		if _, err := paths(js); err == nil || !strings.Contains(err.Error(), "target_modules") {
			t.Errorf("%s: want an error naming target_modules, got %v", js, err)
		}
	}
}

func TestRankAndAlphaPatterns(t *testing.T) {
	c := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
		"rank_pattern": {"q_proj": 8, "layers.1.self_attn.q_proj": 2}, "alpha_pattern": {"v_proj": 32}, "use_rslora": true}`)
	a, err := New(c, llamaLikeBase(2), 3)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]float32{}
	for _, l := range a.Linears {
		got[l.Path] = [2]float32{float32(l.R), l.Scale}
	}
	want := map[string][2]float32{
		"model.layers.0.self_attn.q_proj": {8, float32(8 / 2.8284271247461903)},
		"model.layers.1.self_attn.q_proj": {2, float32(8 / 1.4142135623730951)},
		"model.layers.0.self_attn.v_proj": {4, 16},
		"model.layers.1.self_attn.v_proj": {4, 16},
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: (r, s) = %v, want %v", p, got[p], w)
		}
	}
}
