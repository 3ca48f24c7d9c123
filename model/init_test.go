package model

import (
	"math"
	"testing"
)

const randomInitLlamaJSON = `{"architectures": ["LlamaForCausalLM"], "vocab_size": 40, "hidden_size": 16,
 "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
 "head_dim": 8, "max_position_embeddings": 32, "rms_norm_eps": 1e-5, "hidden_act": "silu",
 "tie_word_embeddings": false, "attention_bias": true}`

const randomInitGPT2JSON = `{"architectures": ["GPT2LMHeadModel"], "vocab_size": 40, "n_embd": 16, "n_layer": 2,
 "n_head": 2, "n_positions": 32, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}`

func TestNewRandomFollowsTransformersInit(t *testing.T) {
	for _, src := range []string{randomInitLlamaJSON, randomInitGPT2JSON} {
		cfg, err := ParseConfig([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewRandom(cfg, 7)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Architecture, err)
		}
		again, _ := NewRandom(cfg, 7)
		other, _ := NewRandom(cfg, 8)
		pa, pb, po := m.Params(), again.Params(), other.Params()
		sameOther := true
		for i, p := range pa {
			for j := range p.W {
				if p.W[j] != pb[i].W[j] {
					t.Fatalf("%s: %s differs between two builds with the same seed", cfg.Architecture, p.Name)
				}
				sameOther = sameOther && p.W[j] == po[i].W[j]
			}
			var sum, sq float64
			for _, v := range p.W {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
			n := float64(len(p.W))
			mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
			switch {
			case len(p.Shape) == 1 && !isBiasParam(p.Name):
				if mean != 1 || std != 0 {
					t.Errorf("%s: norm weight mean %g std %g, want 1 and 0", p.Name, mean, std)
				}
			case isBiasParam(p.Name):
				if sq != 0 {
					t.Errorf("%s: bias not zero", p.Name)
				}
			case len(p.W) >= 256:
				if math.Abs(std-InitStd) > 0.25*InitStd && !(cfg.Family == FamilyGPT2 && std < InitStd) {
					t.Errorf("%s: std %g, want about %g", p.Name, std, InitStd)
				}
			}
		}
		if sameOther {
			t.Errorf("%s: seeds 7 and 8 gave the same weights", cfg.Architecture)
		}
		// A random model predicts nearly uniformly: loss ≈ log V.
		B, T := 2, 8
		ids, labels := make([]int, B*T), make([]int, B*T)
		for i := range ids {
			ids[i], labels[i] = (i*7)%cfg.VocabSize, (i*7)%cfg.VocabSize
		}
		loss, err := m.ForwardBackward(ids, labels, B, T)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: initial loss %.4f, log V = %.4f", cfg.Architecture, loss, math.Log(float64(cfg.VocabSize)))
		if math.Abs(loss-math.Log(float64(cfg.VocabSize))) > 0.1 {
			t.Errorf("%s: initial loss %.4f far from log V %.4f", cfg.Architecture, loss, math.Log(float64(cfg.VocabSize)))
		}
	}
}

func isBiasParam(name string) bool { return len(name) > 5 && name[len(name)-5:] == ".bias" }

// TestNewRandomGemmaNormsScaleByOne: Gemma's norms scale by (1 + w), so transformers initialises
// w to 0; a fresh model then predicts nearly uniformly like the others.
func TestNewRandomGemmaNormsScaleByOne(t *testing.T) {
	cfg := parseTiny(t, "gemma3")
	m, err := NewRandom(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	norms := 0
	for _, p := range m.Params() {
		if len(p.Shape) != 1 {
			continue
		}
		norms++
		for _, v := range p.W {
			if v != 0 {
				t.Fatalf("%s: norm weight %g, want 0", p.Name, v)
			}
		}
	}
	if want := 6*cfg.NumHiddenLayers + 1; norms != want {
		t.Errorf("%d norm weights, want %d (input, q, k, post-attention, pre- and post-feed-forward per layer, final)", norms, want)
	}
	ids := []int{1, 2, 3, 4, 5, 6, 7, 8}
	loss, err := m.ForwardBackward(ids, ids, 1, len(ids))
	if err != nil {
		t.Fatal(err)
	}
	if lv := math.Log(float64(cfg.VocabSize)); math.Abs(loss-lv) > 0.1 {
		t.Errorf("initial loss %.4f far from log V %.4f", loss, lv)
	}
}
