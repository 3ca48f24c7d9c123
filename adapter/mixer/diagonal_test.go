package mixer_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/train"
)

// diagonal is a fifth mixer that exists only in this test: z = h ⊙ d, d (R) learnable, stored as
// lora_diag.weight and starting at 1 (plain LoRA). It is this file plus the Register call below,
// and nothing else in the repository knows of it.
//
//	z_j = d_j·h_j  ⇒  dh_j = d_j·dz_j    dd_j += Σ_tokens dz_j·h_j
type diagonal struct {
	r     int
	d, dd []float32 // (R)
	z, dh []float32 // (n, R)
}

func newDiagonal(s mixer.Shape) mixer.Mixer {
	return &diagonal{r: s.R, d: make([]float32, s.R), dd: make([]float32, s.R)}
}

func (*diagonal) Name() string { return "diagonal" }

func (m *diagonal) Forward(h, _ []float32, n int) []float32 {
	m.z = make([]float32, n*m.r)
	for i := range m.z {
		m.z[i] = m.d[i%m.r] * h[i]
	}
	return m.z
}

func (m *diagonal) Backward(dz, h, _ []float32, n int) ([]float32, mixer.Product) {
	m.dh = make([]float32, n*m.r)
	for i := range m.dh {
		m.dh[i] = m.d[i%m.r] * dz[i]
		m.dd[i%m.r] += dz[i] * h[i]
	}
	return m.dh, mixer.Product{}
}

func (m *diagonal) Matrix() ([]float32, bool) {
	out := make([]float32, m.r*m.r)
	for j, v := range m.d {
		out[j*m.r+j] = v
	}
	return out, true
}

func (m *diagonal) Params() []mixer.Param {
	return []mixer.Param{{Key: "lora_diag.weight", W: m.d, G: m.dd, Shape: []int{m.r}}}
}

func (m *diagonal) Init(*rand.Rand) {
	for i := range m.d {
		m.d[i] = 1
	}
}

func init() {
	if err := mixer.Register(mixer.Kind{Name: "diagonal", Method: "diagonal", New: newDiagonal, Doc: "test-only r-vector mixer"}); err != nil {
		panic(err)
	}
}

const tinyConfig = `{"architectures": ["LlamaForCausalLM"], "vocab_size": 48, "hidden_size": 16,
 "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
 "head_dim": 8, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "hidden_act": "silu",
 "tie_word_embeddings": true, "rope_theta": 10000}`

func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	cfg, err := model.ParseConfig([]byte(tinyConfig))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewRandom(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// examples: a prompt of random ids, then a completion that repeats its last id (something to learn).
func examples(n int) []data.Example {
	r := rand.New(rand.NewPCG(3, 4))
	var exs []data.Example
	for i := 0; i < n; i++ {
		ids, labels := []int{1}, []int{data.IgnoreLabel}
		last := 0
		for j := 0; j < 4+r.IntN(4); j++ {
			last = 3 + r.IntN(45)
			ids, labels = append(ids, last), append(labels, data.IgnoreLabel)
		}
		for j := 0; j < 3; j++ {
			ids, labels = append(ids, last), append(labels, last)
		}
		exs = append(exs, data.Example{IDs: ids, Labels: labels, Row: i})
	}
	return exs
}

func logits(t *testing.T, m *model.Model, ids []int) []float32 {
	t.Helper()
	out, err := m.Forward(ids, 1, len(ids), false)
	if err != nil {
		t.Fatal(err)
	}
	return out.Logits
}

// TestFifthMixerTrainsSavesLoadsFoldsAndMerges adds a mixer from outside the adapter packages and
// takes it through the whole public life of an adapter: train.Run selects it by method name,
// Save writes its tensor under its own key, Load reads it back bit-identically, and Fold and
// Merge use its matrix to give the same outputs as the unfolded adapter.
func TestFifthMixerTrainsSavesLoadsFoldsAndMerges(t *testing.T) {
	cfg := train.DefaultConfig()
	cfg.Method, cfg.Rank, cfg.Alpha = "diagonal", 4, 8
	cfg.Batch, cfg.Steps, cfg.Warmup, cfg.LR, cfg.MaxLen = 4, 12, 0, 3e-2, 32
	m := tinyModel(t)
	out := t.TempDir()
	res, err := train.Run(context.Background(), &train.Job{Config: cfg, Model: m, Examples: examples(24), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Adapter
	moved := false
	for _, l := range a.Linears {
		if l.Mixer.Name() != "diagonal" {
			t.Fatalf("%s: trained with the %s mixer", l.Path, l.Mixer.Name())
		}
		for _, v := range l.Mixer.Params()[0].W {
			moved = moved || v != 1
		}
	}
	if !moved {
		t.Fatal("training left every diagonal mixer at its initial value 1")
	}
	ids := []int{1, 7, 9, 11, 30, 30, 30, 5}
	want := logits(t, m, ids)
	a.Detach()
	base := logits(t, m, ids)
	if numtest.MaxAbsDiff(want, base) == 0 {
		t.Fatal("the trained adapter does not change the logits")
	}

	dir := filepath.Join(out, "adapter")
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	var js map[string]any
	b, err := os.ReadFile(filepath.Join(dir, adapter.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if js["moslora_mixer"] != "diagonal" {
		t.Fatalf("saved config names mixer %v, want diagonal", js["moslora_mixer"])
	}

	load := func() *adapter.Adapter {
		l, err := adapter.Load(dir, m)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := load()
	if d := numtest.MaxAbsDiff(logits(t, m, ids), want); d != 0 {
		t.Fatalf("loaded adapter's logits differ from the trained one's by %.3g", d)
	}
	if err := l.Fold(); err != nil {
		t.Fatal(err)
	}
	if d := numtest.MaxAbsDiff(logits(t, m, ids), want); d > numtest.F32 {
		t.Errorf("folded adapter's logits differ by %.3g", d)
	}
	if l.Config.MixerKind() != mixer.IdentityName {
		t.Errorf("folded adapter still has mixer %s", l.Config.MixerKind())
	}
	l.Detach()

	l = load()
	if err := l.Merge(); err != nil {
		t.Fatal(err)
	}
	if d := numtest.MaxAbsDiff(logits(t, m, ids), want); d > numtest.F32 {
		t.Errorf("merged model's logits differ by %.3g", d)
	}
	if err := l.Unmerge(); err != nil {
		t.Fatal(err)
	}
	l.Detach()
	if d := numtest.MaxAbsDiff(logits(t, m, ids), base); d > numtest.F32 {
		t.Errorf("after Unmerge the base logits differ by %.3g", d)
	}
}
