package model

import (
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

// memSource is an in-memory Source for tests.
type memSource map[string]memTensor

type memTensor struct {
	shape []int
	v     []float32
}

func (s memSource) Names() []string {
	var n []string
	for k := range s {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func (s memSource) Info(name string) *safetensors.Info {
	t, ok := s[name]
	if !ok {
		return nil
	}
	return &safetensors.Info{Name: name, DType: safetensors.F32, Shape: t.shape}
}

func (s memSource) Float32(name string) ([]float32, *safetensors.Info, error) {
	return append([]float32(nil), s[name].v...), s.Info(name), nil
}

// tinyConfigs are small configurations of every family and feature: GQA, biases, tying, a sliding
// window, llama3 rope, GPT-2 with an explicit n_inner, Qwen3's q/k norms with a head_dim ≠ C/H
// and a sliding layer, Gemma 3's sliding and global layers with their own (one linear-scaled)
// rotary tables, final logit and attention softcapping.
var tinyConfigs = map[string]string{
	"llama": `{"architectures":["LlamaForCausalLM"],"vocab_size":23,"hidden_size":16,"intermediate_size":24,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":6,"rms_norm_eps":1e-5,
		"rope_theta":10000,"rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":4},
		"tie_word_embeddings":false,"torch_dtype":"float32"}`,
	"mistral": `{"architectures":["MistralForCausalLM"],"vocab_size":23,"hidden_size":16,"intermediate_size":24,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":1,"rms_norm_eps":1e-5,"sliding_window":3,
		"rope_parameters":{"rope_type":"default","rope_theta":10000.0},"tie_word_embeddings":false,"dtype":"float32"}`,
	"qwen2": `{"architectures":["Qwen2ForCausalLM"],"vocab_size":23,"hidden_size":16,"intermediate_size":24,
		"num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":2,"rms_norm_eps":1e-6,
		"rope_parameters":{"rope_type":"default","rope_theta":1000000.0},"tie_word_embeddings":true,"dtype":"float32"}`,
	"qwen3": `{"architectures":["Qwen3ForCausalLM"],"vocab_size":23,"hidden_size":16,"intermediate_size":24,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"rms_norm_eps":1e-6,
		"use_sliding_window":true,"sliding_window":3,"max_window_layers":1,
		"rope_parameters":{"rope_type":"default","rope_theta":1000000.0},"tie_word_embeddings":false,"dtype":"float32"}`,
	"gemma3": `{"architectures":["Gemma3ForCausalLM"],"vocab_size":23,"hidden_size":16,"intermediate_size":24,
		"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":6,"rms_norm_eps":1e-6,
		"sliding_window":3,"layer_types":["sliding_attention","full_attention","sliding_attention"],
		"query_pre_attn_scalar":8,"final_logit_softcapping":2.0,"attn_logit_softcapping":1.5,"hidden_activation":"gelu_pytorch_tanh",
		"rope_parameters":{"full_attention":{"rope_type":"linear","factor":2.0,"rope_theta":1000000.0},
		"sliding_attention":{"rope_type":"default","rope_theta":10000.0}},"dtype":"float32"}`,
	"gpt2": `{"architectures":["GPT2LMHeadModel"],"vocab_size":23,"n_embd":16,"n_layer":2,"n_head":2,"n_inner":24,
		"n_positions":8,"layer_norm_epsilon":1e-5,"activation_function":"gelu_new","dtype":"float32"}`,
}

// specSource returns a Source holding random tensors of exactly the shapes cfg expects: weights
// N(0, 0.3²), biases N(0, 0.1²), norm weights 1 + N(0, 0.1²).
func specSource(t testing.TB, cfg *Config, seed int64) memSource {
	t.Helper()
	_, specs, err := skeleton(cfg, memSource{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	src := memSource{}
	for _, sp := range specs {
		v := make([]float32, prod(sp.shape))
		for i := range v {
			if len(sp.shape) == 1 {
				v[i] = float32(0.1 * r.NormFloat64())
			} else {
				v[i] = float32(0.3 * r.NormFloat64())
			}
		}
		if strings.HasSuffix(sp.name, "norm.weight") || strings.HasSuffix(sp.name, "ln_1.weight") ||
			strings.HasSuffix(sp.name, "ln_2.weight") || strings.HasSuffix(sp.name, "ln_f.weight") {
			for i := range v {
				v[i] += 1
			}
		}
		src[sp.name] = memTensor{sp.shape, v}
	}
	return src
}

func parseTiny(t testing.TB, fam string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(tinyConfigs[fam]))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loraDelta is a test-only plain LoRA update y += s·(x·Aᵀ)·Bᵀ, used to check the frozen-base
// backward against PEFT's gradients without the adapter package.
type loraDelta struct {
	in, out, r int
	s          float32
	A, B       []float32 // (r, in), (out, r)
	dA, dB     []float32
	h          []float32 // (n, r) saved x·Aᵀ
}

func newLoRA(in, out, r int, s float32, A, B []float32) *loraDelta {
	return &loraDelta{in: in, out: out, r: r, s: s, A: A, B: B, dA: make([]float32, len(A)), dB: make([]float32, len(B))}
}

func (d *loraDelta) ForwardTerm(x []float32, n int) Term {
	if cap(d.h) < n*d.r {
		d.h = make([]float32, n*d.r)
	}
	d.h = d.h[:n*d.r]
	gemm.Sgemm(false, true, n, d.r, d.in, 1, x, d.in, d.A, d.in, 0, d.h, d.r)
	return Term{U: d.h, V: d.B, Rank: d.r, Scale: d.s} // y += s·h·Bᵀ
}

// BackwardTerms: dh = s·dy·B;  dB += s·dyᵀ·h;  dA += dhᵀ·x;  dx += dh·A (returned).
func (d *loraDelta) BackwardTerms(dy, x []float32, n int) []Term {
	dh := make([]float32, n*d.r)
	gemm.Sgemm(false, false, n, d.r, d.out, d.s, dy, d.out, d.B, d.r, 0, dh, d.r)
	gemm.Sgemm(true, false, d.out, d.r, n, d.s, dy, d.out, d.h, d.r, 1, d.dB, d.r)
	gemm.Sgemm(true, false, d.r, d.in, n, 1, dh, d.r, x, d.in, 1, d.dA, d.in)
	return []Term{{U: dh, V: d.A, Rank: d.r, Scale: 1}}
}
