package generate

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
)

// greedyCase is one entry of fixtures/hf/base/greedy.json (transformers' greedy generate of
// models/base-19m, 32 new tokens).
type greedyCase struct {
	Prompt     string `json:"prompt"`
	InputIDs   []int  `json:"input_ids"`
	GreedyIDs  []int  `json:"greedy_ids"`
	GreedyText string `json:"greedy_text"`
}

func loadGreedyCases(t *testing.T) []greedyCase {
	t.Helper()
	var cs []greedyCase
	shared.ReadJSON(t, filepath.Join(shared.Path(t, "fixtures", "hf", "base"), "greedy.json"), &cs)
	if len(cs) == 0 {
		t.Fatal("greedy.json holds no cases")
	}
	return cs
}

// TestGreedyReproducesTransformers: greedy decoding of base-19m (bf16 weights, f32 compute)
// through the KV cache gives transformers' greedy ids exactly, starting from the prompt as our
// tokenizer encodes it (with special tokens), and the streamed text equals its greedy_text.
func TestGreedyReproducesTransformers(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	stops, err := StopIDsFromModelDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(stops, tok.EOS()) {
		t.Errorf("stop ids %v do not include the tokenizer's EOS %d", stops, tok.EOS())
	}
	for _, c := range loadGreedyCases(t) {
		prompt := tok.Encode(c.Prompt, true)
		if !slices.Equal(prompt, c.InputIDs) {
			t.Errorf("%q encodes to %v, transformers %v", c.Prompt, prompt, c.InputIDs)
			prompt = c.InputIDs
		}
		ts := NewTextStream(tok, prompt)
		var sb strings.Builder
		sb.WriteString(ts.Text())
		opt := Options{MaxNewTokens: len(c.GreedyIDs) - len(c.InputIDs), StopIDs: stops}
		res, err := Generate(m, prompt, opt, func(id int, _ []float32) error {
			sb.WriteString(ts.Add(id))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sb.WriteString(ts.Flush())
		if !slices.Equal(res.IDs, c.GreedyIDs) {
			n := 0
			for n < min(len(res.IDs), len(c.GreedyIDs)) && res.IDs[n] == c.GreedyIDs[n] {
				n++
			}
			t.Errorf("%q: ids differ from transformers at position %d:\n got  %v\n want %v", c.Prompt, n, res.IDs, c.GreedyIDs)
			continue
		}
		if sb.String() != c.GreedyText {
			t.Errorf("%q: streamed text %q, transformers %q", c.Prompt, sb.String(), c.GreedyText)
		}
		t.Logf("%q: %d ids match (stop: %s)", c.Prompt, len(res.IDs), res.Stop)
	}
}

// checkCachedDecodeMatchesUncached decodes n tokens greedily through the cache and compares each
// step's logits with an uncached forward over the whole sequence so far.
func checkCachedDecodeMatchesUncached(t *testing.T, m *model.Model, prompt []int, n int) {
	t.Helper()
	V := m.Config.VocabSize
	var steps [][]float32
	res, err := Generate(m, prompt, Options{MaxNewTokens: n}, func(id int, logits []float32) error {
		steps = append(steps, append([]float32(nil), logits[:V]...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Generated()) != n || len(steps) != n {
		t.Fatalf("generated %d tokens (%d steps), want %d", len(res.Generated()), len(steps), n)
	}
	worst := 0.0
	for i, got := range steps {
		T := len(prompt) + i // the step's logits come from position T−1
		out, err := m.Forward(res.IDs[:T], 1, T, false)
		if err != nil {
			t.Fatal(err)
		}
		want := out.Logits[(T-1)*V : T*V]
		d := 0.0
		for j := range want {
			d = math.Max(d, math.Abs(float64(got[j])-float64(want[j])))
		}
		worst = math.Max(worst, d)
		if !(d <= numtest.F32Model) {
			t.Errorf("step %d: cached logits differ from uncached by %.3g", i, d)
		}
	}
	t.Logf("%d steps: max |Δ| cached vs uncached %.3g", n, worst)
}

func TestCachedDecodingMatchesUncached(t *testing.T) {
	t.Run("llama+moslora", func(t *testing.T) {
		dir := shared.Path(t, "fixtures", "hf", "llama")
		m, err := model.Load(filepath.Join(dir, "model"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := adapter.Load(filepath.Join(dir, "moslora_r4"), m); err != nil {
			t.Fatal(err)
		}
		checkCachedDecodeMatchesUncached(t, m, []int{1, 17, 42, 5, 99}, 64)
	})
	t.Run("gpt2", func(t *testing.T) {
		m, err := model.Load(filepath.Join(shared.Path(t, "fixtures", "hf", "gpt2"), "model"))
		if err != nil {
			t.Fatal(err)
		}
		checkCachedDecodeMatchesUncached(t, m, []int{3, 1, 4, 1, 5, 9}, 64)
	})
	// Qwen3 with its LoRA; Gemma 3 with its LoRA, 5 + 40 positions against sliding_window 8.
	for _, fam := range []string{"qwen3", "gemma3"} {
		t.Run(fam+"+lora", func(t *testing.T) {
			dir := shared.Path(t, "fixtures", "hf", fam)
			m, err := model.Load(filepath.Join(dir, "model"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := adapter.Load(filepath.Join(dir, "lora_r4"), m); err != nil {
				t.Fatal(err)
			}
			checkCachedDecodeMatchesUncached(t, m, []int{2, 17, 42, 5, 99}, 40)
		})
	}
}

func TestGenerateStopsAndIsReproducible(t *testing.T) {
	m, err := model.Load(filepath.Join(shared.Path(t, "fixtures", "hf", "llama"), "model"))
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int{1, 2, 3}
	opt := Options{MaxNewTokens: 20, Sampling: Sampling{Temperature: 1.5, TopK: 50, TopP: 0.95, Seed: 7}}
	a, err := Generate(m, prompt, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(m, prompt, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.IDs, b.IDs) || a.Stop != StopLength || len(a.Generated()) != 20 {
		t.Errorf("seeded runs: %v (%s) and %v (%s), want equal, 20 new tokens, stop length", a.IDs, a.Stop, b.IDs, b.Stop)
	}
	// Stopping on the third generated token.
	opt.StopIDs = []int{a.Generated()[2]}
	c, err := Generate(m, prompt, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Stop != StopEOS || !slices.Equal(c.IDs, a.IDs[:len(prompt)+3]) {
		t.Errorf("with stop id %v: %v (%s), want %v (eos)", opt.StopIDs, c.IDs, c.Stop, a.IDs[:len(prompt)+3])
	}
	if _, err := Generate(m, nil, opt, nil); err == nil {
		t.Error("an empty prompt was accepted")
	}
	if _, err := Generate(m, []int{m.Config.VocabSize}, opt, nil); err == nil {
		t.Error("an out-of-vocabulary prompt id was accepted")
	}
}
