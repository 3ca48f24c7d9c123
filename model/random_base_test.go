package model

import (
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/moslora/moslora/safetensors"
)

// Configs whose input widths are multiples of 32, so q8 holds every linear weight in Q8_0.
const (
	randomBaseLlamaJSON = `{"architectures": ["Qwen2ForCausalLM"], "vocab_size": 50, "hidden_size": 32,
 "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
 "head_dim": 8, "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
 "torch_dtype": "bfloat16"}`
	randomBaseGPT2JSON = `{"architectures": ["GPT2LMHeadModel"], "vocab_size": 50, "n_embd": 32, "n_layer": 2,
 "n_head": 2, "n_positions": 32, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}`
)

// TestNewRandomInEqualsLoadingNewRandomsTensors: drawing the base directly in its dtype, a chunk
// at a time and on several workers, gives bit for bit the model the loader builds from
// NewRandom's float32 tensors with the same --base-dtype (auto: as the config's declared dtype).
func TestNewRandomInEqualsLoadingNewRandomsTensors(t *testing.T) {
	for _, js := range []string{randomBaseLlamaJSON, randomBaseGPT2JSON} {
		cfg, err := ParseConfig([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range []BaseDtype{BaseAuto, BaseF32, BaseBF16, BaseF16, BaseQ8} {
			src := newRandomSource(cfg, 7)
			if cfg.WeightDType == "bfloat16" { // a checkpoint declaring bf16 holds bf16 tensors
				for _, info := range src.infos {
					info.DType = safetensors.BF16
				}
			}
			want, err := FromSourceWith(cfg, src, LoadOptions{Base: base})
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewRandomIn(cfg, 7, base, nil)
			if err != nil {
				t.Fatalf("%s %q: %v", cfg.Architecture, base, err)
			}
			wp, gp := want.Params(), got.Params()
			if len(wp) != len(gp) {
				t.Fatalf("%s %q: %d params, want %d", cfg.Architecture, base, len(gp), len(wp))
			}
			for i := range wp {
				g, w := gp[i].Frozen, wp[i].Frozen
				if !slices.Equal(f32Bits(gp[i].W), f32Bits(wp[i].W)) || !slices.Equal(g.BF16, w.BF16) || !slices.Equal(g.F16, w.F16) ||
					!slices.Equal(g.Q8.Q, w.Q8.Q) || !slices.Equal(g.Q8.D, w.Q8.D) {
					t.Errorf("%s %q: %s differs from the loaded NewRandom tensor (float32 %d/%d values, bf16 %d/%d, f16 %d/%d, q8 %d/%d)",
						cfg.Architecture, base, wp[i].Name, len(gp[i].W), len(wp[i].W), len(g.BF16), len(w.BF16), len(g.F16), len(w.F16), len(g.Q8.Q), len(w.Q8.Q))
				}
			}
			q8 := 0
			for _, l := range got.Linears() {
				if l.Frozen.Q8.Q != nil {
					q8++
				}
			}
			if base == BaseQ8 && q8 != len(got.Linears()) {
				t.Errorf("%s q8: %d of %d linears in Q8_0", cfg.Architecture, q8, len(got.Linears()))
			}
			if (base == BaseBF16 || (base == BaseAuto && cfg.WeightDType == "bfloat16")) && got.Embed.Frozen.BF16 == nil {
				t.Errorf("%s %q: embedding not held in bf16", cfg.Architecture, base)
			}
			if base == BaseF16 && got.Embed.Frozen.F16 == nil {
				t.Errorf("%s f16: embedding not held in f16", cfg.Architecture)
			}
		}
	}
}

func f32Bits(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, f := range v {
		b[i] = math.Float32bits(f)
	}
	return b
}

// TestNewRandomInBF16NeverAllocatesTheFloat32Model: building a 7.6M-parameter model with a bf16
// (or q8) base allocates about its bf16 (q8) size — never the 30 MB of its float32 values — while
// NewRandom allocates at least the float32 model; progress ends at the parameter count.
func TestNewRandomInBF16NeverAllocatesTheFloat32Model(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"architectures": ["LlamaForCausalLM"], "vocab_size": 8192,
	 "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4, "num_attention_heads": 4,
	 "num_key_value_heads": 4, "max_position_embeddings": 64, "rms_norm_eps": 1e-5}`))
	if err != nil {
		t.Fatal(err)
	}
	allocs := func(build func() (*Model, error)) (*Model, uint64) {
		runtime.GC()
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		m, err := build()
		if err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&b)
		return m, b.TotalAlloc - a.TotalAlloc
	}
	f32, f32Alloc := allocs(func() (*Model, error) { return NewRandom(cfg, 1) })
	f32Bytes := uint64(4 * f32.NumParams())
	if f32Alloc < f32Bytes {
		t.Fatalf("NewRandom allocated %d bytes, less than its float32 model (%d): the measure is broken", f32Alloc, f32Bytes)
	}
	for _, base := range []BaseDtype{BaseBF16, BaseQ8} {
		var last, total int64
		m, got := allocs(func() (*Model, error) {
			return NewRandomIn(cfg, 1, base, func(done, tot int64) { last, total = done, tot })
		})
		// The base itself, plus per worker one 256 KiB chunk and small change (norms, headers).
		limit := uint64(m.BaseBytes()) + uint64(runtime.GOMAXPROCS(0))*4*randomChunk + 1<<20
		t.Logf("%s: allocated %.1f MiB (base %.1f MiB; float32 model %.1f MiB; NewRandom allocated %.1f MiB)",
			base, float64(got)/(1<<20), float64(m.BaseBytes())/(1<<20), float64(f32Bytes)/(1<<20), float64(f32Alloc)/(1<<20))
		if got > limit {
			t.Errorf("%s: allocated %d bytes, want ≤ %d (the base in %s plus chunk buffers)", base, got, limit, base)
		}
		if got >= f32Bytes*3/4 {
			t.Errorf("%s: allocated %d bytes, ≥ 3/4 of the float32 model (%d)", base, got, f32Bytes)
		}
		if last != total || total != int64(m.NumParams()) {
			t.Errorf("%s: progress ended at %d of %d, want %d of %d", base, last, total, m.NumParams(), m.NumParams())
		}
	}
}

// TestConfigBaseBytesIsTheBuiltModels: the memory Config.BaseBytes predicts without building is
// what the built model holds, for every --base-dtype, and NumParams is the built model's count.
func TestConfigBaseBytesIsTheBuiltModels(t *testing.T) {
	for _, js := range []string{randomBaseLlamaJSON, randomBaseGPT2JSON, randomInitLlamaJSON} {
		cfg, err := ParseConfig([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range []BaseDtype{BaseAuto, BaseF32, BaseBF16, BaseF16, BaseQ8} {
			m, err := NewRandomIn(cfg, 1, base, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.BaseBytes(base)
			if err != nil || got != m.BaseBytes() {
				t.Errorf("%s %q: Config.BaseBytes = %d, %v; the model holds %d", cfg.Architecture, base, got, err, m.BaseBytes())
			}
			if cfg.NumParams() != int64(m.NumParams()) {
				t.Errorf("%s: Config.NumParams = %d, the model has %d", cfg.Architecture, cfg.NumParams(), m.NumParams())
			}
		}
	}
}
