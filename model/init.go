package model

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/moslora/moslora/safetensors"
)

// InitStd is the standard deviation of the random initialisation (transformers'
// initializer_range default).
const InitStd = 0.02

// NewRandom builds a model of the architecture cfg describes with freshly initialised weights,
// for training a base model from scratch (train --method full --init random). It follows
// transformers' _init_weights: linear and embedding weights ~ N(0, 0.02²), biases 0, norm weights
// 1 (LayerNorm biases 0; Gemma, whose norms scale by 1 + w: 0); GPT-2's residual projections (attn.c_proj, mlp.c_proj) use
// 0.02/√(2·layers). Each tensor is drawn from its own stream seeded by (seed, tensor name), so the
// result does not depend on construction order.
func NewRandom(cfg *Config, seed int64) (*Model, error) {
	m, err := FromSource(cfg, newRandomSource(cfg, seed))
	if err != nil {
		return nil, fmt.Errorf("model: random initialisation: %w", err)
	}
	return m, nil
}

// newRandomSource is the source of NewRandom's tensors: every tensor of cfg's architecture, float32.
func newRandomSource(cfg *Config, seed int64) *randomSource {
	src := &randomSource{seed: seed, infos: map[string]*safetensors.Info{}, layers: cfg.NumHiddenLayers, gpt2: cfg.Family == FamilyGPT2, normOne: 1 - cfg.NormOffset}
	for _, t := range expectedTensors(cfg) {
		src.infos[t.name] = &safetensors.Info{Name: t.name, DType: safetensors.F32, Shape: t.shape}
		src.names = append(src.names, t.name)
	}
	sort.Strings(src.names)
	return src
}

type namedShape struct {
	name  string
	shape []int // checkpoint shape
}

// expectedTensors lists the checkpoint tensors of cfg's architecture (the names FromSource reads).
func expectedTensors(c *Config) []namedShape {
	var out []namedShape
	add := func(name string, shape ...int) { out = append(out, namedShape{name, shape}) }
	V, C, I := c.VocabSize, c.HiddenSize, c.IntermediateSize
	switch c.Family {
	case FamilyLlama:
		add("model.embed_tokens.weight", V, C)
		lin := func(p string, in, outDim int, bias bool) {
			add(p+".weight", outDim, in)
			if bias {
				add(p+".bias", outDim)
			}
		}
		for i := 0; i < c.NumHiddenLayers; i++ {
			p := fmt.Sprintf("model.layers.%d.", i)
			add(p+"input_layernorm.weight", C)
			lin(p+"self_attn.q_proj", C, c.QDim(), c.QKVBias)
			lin(p+"self_attn.k_proj", C, c.KVDim(), c.QKVBias)
			lin(p+"self_attn.v_proj", C, c.KVDim(), c.QKVBias)
			lin(p+"self_attn.o_proj", c.QDim(), C, c.OBias)
			if c.QKNorm {
				add(p+"self_attn.q_norm.weight", c.HeadDim)
				add(p+"self_attn.k_norm.weight", c.HeadDim)
			}
			add(p+"post_attention_layernorm.weight", C)
			if c.PostNorms {
				add(p+"pre_feedforward_layernorm.weight", C)
				add(p+"post_feedforward_layernorm.weight", C)
			}
			lin(p+"mlp.gate_proj", C, I, c.MLPBias)
			lin(p+"mlp.up_proj", C, I, c.MLPBias)
			lin(p+"mlp.down_proj", I, C, c.MLPBias)
		}
		add("model.norm.weight", C)
	case FamilyGPT2:
		add("transformer.wte.weight", V, C)
		add("transformer.wpe.weight", c.MaxPositionEmbeddings, C)
		ln := func(p string) {
			add(p+".weight", C)
			add(p+".bias", C)
		}
		conv := func(p string, in, outDim int) { // Conv1D: stored (in, out)
			add(p+".weight", in, outDim)
			add(p+".bias", outDim)
		}
		for i := 0; i < c.NumHiddenLayers; i++ {
			p := fmt.Sprintf("transformer.h.%d.", i)
			ln(p + "ln_1")
			conv(p+"attn.c_attn", C, 3*C)
			conv(p+"attn.c_proj", C, C)
			ln(p + "ln_2")
			conv(p+"mlp.c_fc", C, I)
			conv(p+"mlp.c_proj", I, C)
		}
		ln("transformer.ln_f")
	}
	if !c.Tied {
		add("lm_head.weight", V, C)
	}
	return out
}

// randomSource serves initialised tensors by name.
type randomSource struct {
	seed    int64
	names   []string
	infos   map[string]*safetensors.Info
	layers  int
	gpt2    bool
	normOne float32 // stored norm weight that scales by 1 (0 where the norm adds an offset of 1)
}

func (s *randomSource) Names() []string                    { return s.names }
func (s *randomSource) Info(name string) *safetensors.Info { return s.infos[name] }

func (s *randomSource) Float32(name string) ([]float32, *safetensors.Info, error) {
	info := s.infos[name]
	if info == nil {
		return nil, nil, fmt.Errorf("model: random source has no tensor %q", name)
	}
	v := make([]float32, info.NumElements())
	switch {
	case strings.HasSuffix(name, ".bias"):
		// zeros
	case len(info.Shape) == 1: // norm weights
		for i := range v {
			v[i] = s.normOne
		}
	default:
		s.normal(name).fill(v)
	}
	return v, info, nil
}

// normalStream draws one matrix's values in checkpoint order, N(0, std²) rounded to float32.
type normalStream struct {
	r   *rand.Rand
	std float64
}

// normal is the stream of the matrix name: its own generator seeded by (seed, name), and the
// standard deviation of transformers' init (GPT-2's residual projections: 0.02/√(2·layers)).
func (s *randomSource) normal(name string) normalStream {
	std := InitStd
	if s.gpt2 && strings.HasSuffix(name, ".c_proj.weight") {
		std /= math.Sqrt(2 * float64(s.layers))
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return normalStream{r: rand.New(rand.NewPCG(uint64(s.seed), h.Sum64())), std: std}
}

// fill writes the next len(v) values of the stream into v.
func (n normalStream) fill(v []float32) {
	for i := range v {
		v[i] = float32(n.r.NormFloat64() * n.std)
	}
}
