package adapter

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// adapterDirWithConfig copies a fixture's adapter weights next to an edited copy of its config.
func adapterDirWithConfig(t *testing.T, src string, edit func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(src, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	dir := t.TempDir()
	out, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), out, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(filepath.Join(src, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, WeightsFile), w, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadIsStrict(t *testing.T) {
	hf := shared.Path(t, "fixtures", "hf", "llama")
	m, err := model.Load(filepath.Join(hf, "model"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(hf, "lora_r4")
	cases := []struct {
		name string
		edit func(map[string]any)
		want []string // substrings of the error
	}{
		{"missing", func(c map[string]any) { c["lora_use_mixer"] = true },
			[]string{"missing tensor", "base_model.model.model.layers.0.self_attn.q_proj.lora_AB.weight"}},
		{"unexpected", func(c map[string]any) { c["target_modules"] = []string{"q_proj"} },
			[]string{"unexpected tensor", "layers.0.mlp.down_proj.lora_A.weight"}},
		{"mis-shaped", func(c map[string]any) { c["r"] = 8 },
			[]string{"shape [4 64]", "want [8 64]", "lora_A.weight"}},
		{"no target", func(c map[string]any) { c["target_modules"] = []string{"c_attn"} },
			[]string{"target_modules", "c_attn"}},
		{"dora", func(c map[string]any) { c["use_dora"] = true }, []string{"use_dora", ConfigFile}},
	}
	for _, c := range cases {
		dir := adapterDirWithConfig(t, src, c.edit)
		a, err := Load(dir, m)
		if err == nil {
			a.Detach()
			t.Errorf("%s: Load succeeded", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
		for _, l := range m.Linears() {
			if l.Delta != nil {
				t.Fatalf("%s: a failed Load left an adapter attached to %s", c.name, l.Path)
			}
		}
	}
}

// randomize makes every adapter tensor nonzero, as after training.
func randomize(a *Adapter, seed int64) {
	for _, p := range a.Params() {
		rng := newRNG(seed, "test", p.Key)
		mixer.Gaussian(p.W, 0.1, rng)
	}
}

func TestSaveLoadRoundTripsBitIdentically(t *testing.T) {
	hf := shared.Path(t, "fixtures", "hf", "llama")
	m, err := model.Load(filepath.Join(hf, "model"))
	if err != nil {
		t.Fatal(err)
	}
	ref := openReference(t, filepath.Join(hf, "lora_r4", "reference.safetensors"))
	for _, js := range []string{`"lora_use_mixer": true, "mixer_init": "orthogonal"`, `"moslora_mixer": "global", "moslora_subspaces": 2`,
		`"moslora_mixer": "gated", "moslora_subspaces": 4`, `"moslora_mixer": "gated-topk", "moslora_subspaces": 4, "moslora_top_k": 3`, `"rank_pattern": {"v_proj": 8}, "use_rslora": true`} {
		c := mustParse(t, `{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj", "down_proj"], `+js+`}`)
		a, err := New(c, m, 3)
		if err != nil {
			t.Fatal(err)
		}
		randomize(a, 4)
		want := ref.logits(t, m)
		dir := filepath.Join(t.TempDir(), "adapter")
		if err := a.Save(dir); err != nil {
			t.Fatal(err)
		}
		a.Detach()
		b, err := Load(dir, m)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		pa, pb := a.Params(), b.Params()
		if len(pa) != len(pb) {
			t.Fatalf("%s: %d tensors saved, %d loaded", js, len(pa), len(pb))
		}
		for i := range pa {
			if pa[i].Key != pb[i].Key || !slicesEqualBits(pa[i].W, pb[i].W) {
				t.Fatalf("%s: tensor %s did not round-trip bit-identically", js, pa[i].Key)
			}
		}
		ja, _ := a.Config.configJSON()
		jb, _ := b.Config.configJSON()
		if string(ja) != string(jb) {
			t.Errorf("%s: config did not round-trip:\n%s\nvs\n%s", js, ja, jb)
		}
		if got := ref.logits(t, m); !slicesEqualBits(got, want) {
			t.Errorf("%s: reloaded adapter changed the logits (max abs %.3g)", js, numtest.MaxAbsDiff(got, want))
		}
		b.Detach()
	}
}

func slicesEqualBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestSavedMoSLoRAMatchesOfficialFormat(t *testing.T) {
	hf := shared.Path(t, "fixtures", "hf", "llama")
	m, a, ref := loadFixture(t, "llama", "moslora_r4")
	unfolded := ref.logits(t, m)
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	// Same tensors, same values, as the official code's file.
	orig, err := safetensors.Open(filepath.Join(hf, "moslora_r4", WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	saved, err := safetensors.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer saved.Close()
	if !slices.Equal(orig.Names(), saved.Names()) {
		t.Fatalf("saved keys differ from the official file:\n%v\nvs\n%v", saved.Names(), orig.Names())
	}
	for _, k := range orig.Names() {
		a, _, _ := orig.Float32(k)
		b, _, _ := saved.Float32(k)
		if !slicesEqualBits(a, b) {
			t.Fatalf("tensor %s changed on save", k)
		}
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["lora_use_mixer"] != true || cfg["mixer_init"] != "kaiming" || cfg["peft_type"] != "LORA" || cfg["r"] != 4.0 {
		t.Fatalf("saved config lacks the official MoSLoRA fields: %s", b)
	}

	// Folded: a plain PEFT LoRA adapter with the same logits.
	if err := a.Fold(); err != nil {
		t.Fatal(err)
	}
	fdir := t.TempDir()
	if err := a.Save(fdir); err != nil {
		t.Fatal(err)
	}
	a.Detach()
	b, _ = os.ReadFile(filepath.Join(fdir, ConfigFile))
	for _, field := range []string{"lora_use_mixer", "mixer_init", "moslora_mixer", "moslora_subspaces"} {
		if strings.Contains(string(b), field) {
			t.Errorf("folded config still mentions %s: %s", field, b)
		}
	}
	f, err := Load(fdir, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Params() {
		if strings.Contains(p.Key, "lora_AB") {
			t.Errorf("folded adapter has %s", p.Key)
		}
	}
	checkLogits(t, "folded, saved and reloaded vs unfolded", ref.logits(t, m), unfolded, tolSelf)
}

// TestLoadDetachedWritesNothingIntoTheModel: an adapter loaded detached leaves every layer of the
// model as it was (the base logits, bit for bit) and hands out its update per base layer as data;
// attached afterwards, it gives the logits of the adapter it was saved from.
func TestLoadDetachedWritesNothingIntoTheModel(t *testing.T) {
	hf := shared.Path(t, "fixtures", "hf", "llama")
	m, err := model.Load(filepath.Join(hf, "model"))
	if err != nil {
		t.Fatal(err)
	}
	ref := openReference(t, filepath.Join(hf, "lora_r4", "reference.safetensors"))
	base := ref.logits(t, m)
	c := mustParse(t, `{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"], "lora_use_mixer": true}`)
	a, err := New(c, m, 3)
	if err != nil {
		t.Fatal(err)
	}
	randomize(a, 4)
	want := ref.logits(t, m)
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	a.Detach()
	b, err := LoadDetached(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	targeted := 0
	for _, l := range m.Linears() {
		if l.Delta != nil {
			t.Fatalf("%s: LoadDetached attached an update", l.Path)
		}
		d := b.DeltaFor(l)
		isTarget := strings.HasSuffix(l.Path, "q_proj") || strings.HasSuffix(l.Path, "v_proj")
		if (d != nil) != isTarget {
			t.Fatalf("%s: DeltaFor = %v, want an update: %v", l.Path, d, isTarget)
		}
		if d != nil {
			targeted++
		}
	}
	if targeted == 0 {
		t.Fatal("no layer targeted: the test checks nothing")
	}
	if got := ref.logits(t, m); !slicesEqualBits(got, base) {
		t.Fatalf("the model's logits changed after LoadDetached (max abs %.3g)", numtest.MaxAbsDiff(got, base))
	}
	if err := b.Attach(); err != nil {
		t.Fatal(err)
	}
	if got := ref.logits(t, m); !slicesEqualBits(got, want) {
		t.Errorf("attached, the loaded adapter's logits differ from the saved one's (max abs %.3g)", numtest.MaxAbsDiff(got, want))
	}
	b.Detach()
}

// A gated-topk adapter whose config leaves moslora_top_k out is built with the default k and
// saved with it written, so it reloads with the same k even if the default changes; k is not
// written for the other mixers.
func TestTopKIsWrittenAndReloaded(t *testing.T) {
	b := llamaLikeBase(4)
	a := trainedAdapter(t, b, `"moslora_mixer": "gated-topk", "moslora_subspaces": 4`)
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["moslora_top_k"] != float64(mixer.DefaultTopK) || fields["moslora_mixer"] != MixerGatedTopK {
		t.Fatalf("saved config: moslora_mixer %v, moslora_top_k %v; want gated-topk, %d", fields["moslora_mixer"], fields["moslora_top_k"], mixer.DefaultTopK)
	}
	a.Detach()
	re, err := Load(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range re.Linears {
		if q, ok := l.Mixer.(*mixer.TopK); !ok || q.Top != mixer.DefaultTopK || q.K != 4 {
			t.Fatalf("%s reloaded with mixer %T %+v", l.Path, l.Mixer, l.Mixer)
		}
	}
	re.Detach()

	g := trainedAdapter(t, llamaLikeBase(4), `"moslora_mixer": "gated", "moslora_subspaces": 2, "moslora_top_k": 1`)
	js, _ := g.Config.configJSON()
	if strings.Contains(string(js), "moslora_top_k") {
		t.Errorf("a gated adapter's config writes moslora_top_k:\n%s", js)
	}
}
