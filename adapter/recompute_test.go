package adapter

import (
	"math"
	"math/rand"
	"testing"

	"github.com/moslora/moslora/model"
)

// TestRecomputeReplaysDropoutMasks trains a MoSLoRA adapter with dropout on a small random Llama
// for two steps, with and without activation recomputation (model.SetRecompute): the rerun of
// each block must reuse the dropout masks of the pass it repeats (Linear.Replay), so every
// gradient is bit-identical.
func TestRecomputeReplaysDropoutMasks(t *testing.T) {
	cfg, err := model.ParseConfig([]byte(`{"architectures":["LlamaForCausalLM"],"vocab_size":29,"hidden_size":16,
		"intermediate_size":24,"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":4,
		"rms_norm_eps":1e-5,"rope_theta":10000,"tie_word_embeddings":true}`))
	if err != nil {
		t.Fatal(err)
	}
	run := func(recompute bool) map[string][]float32 {
		m, err := model.NewRandom(cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		m.SetRecompute(recompute)
		ac := DefaultConfig()
		ac.R, ac.LoraAlpha, ac.LoraDropout, ac.LoraUseMixer = 4, 8, 0.3, true
		ac.TargetModules = Targets{List: []string{"q_proj", "v_proj", "up_proj", "down_proj"}}
		ac.InitLoraWeights = InitWeights{Value: "false"} // B random: every gradient non-zero
		a, err := New(ac, m, 5)
		if err != nil {
			t.Fatal(err)
		}
		a.SetTraining(true)
		r := rand.New(rand.NewSource(7))
		ids := make([]int, 2*9)
		for i := range ids {
			ids[i] = r.Intn(cfg.VocabSize)
		}
		for range 2 {
			if _, err := m.ForwardBackward(ids, ids, 2, 9); err != nil {
				t.Fatal(err)
			}
		}
		g := map[string][]float32{}
		for _, p := range a.Params() {
			g[p.Key] = append([]float32(nil), p.G...)
		}
		return g
	}
	stored, recomputed := run(false), run(true)
	if len(stored) == 0 {
		t.Fatal("no adapter parameters")
	}
	for k, a := range stored {
		b := recomputed[k]
		nonzero := false
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d] = %v recomputed, %v stored", k, i, b[i], a[i])
			}
			nonzero = nonzero || a[i] != 0
		}
		if !nonzero {
			t.Fatalf("%s: gradient is all zero", k)
		}
	}
}
