package model

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

// Source is what the loader needs from a checkpoint: tensor names, their descriptions, and their
// values converted to float32 (from F32, BF16 or F16).
type Source interface {
	Names() []string
	Info(name string) *safetensors.Info
	Float32(name string) ([]float32, *safetensors.Info, error)
}

// Load reads a Hugging Face model folder: config.json and its safetensors weights, the frozen
// base in its checkpoint's dtype (LoadWith with the default LoadOptions: bf16 matrices stay bf16).
func Load(dir string) (*Model, error) { return LoadWith(dir, LoadOptions{}) }

// LoadWith is Load with the base's storage chosen by opts.
func LoadWith(dir string, opts LoadOptions) (*Model, error) {
	if err := CheckDir(dir); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	src, file, closeSrc, err := openWeights(dir)
	if err != nil {
		return nil, err
	}
	defer closeSrc()
	m, err := FromSourceWith(cfg, src, opts)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", file, err)
	}
	return m, nil
}

// openWeights opens dir's weights (model.safetensors or a sharded index). It returns the source,
// the path to name in errors and a close function.
func openWeights(dir string) (*safetensors.Set, string, func(), error) {
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, "", nil, fmt.Errorf("model: %w", err)
	}
	file := filepath.Join(dir, safetensors.IndexFileName)
	if len(set.Files) == 1 && filepath.Base(set.Files[0].Path) == safetensors.SingleFileName {
		file = set.Files[0].Path
	}
	return set, file, func() { set.Close() }, nil
}

// tensorSpec is one tensor the architecture expects in the checkpoint.
type tensorSpec struct {
	name  string    // key in the source
	shape []int     // checkpoint shape
	dst   []float32 // destination, len = product(shape); nil for a matrix (w, frozen)
	trans bool      // checkpoint holds (in, out) of a Conv1D: transpose into (out, in)
	// A frozen base matrix (linear weight, embedding, LM head): allocated at load, in float32
	// (*w) or in 16 or 8 bits (*frozen) as LoadOptions and the checkpoint's dtype decide (heldAs).
	w      *[]float32
	frozen *gemm.Weights
	linear bool // a linear weight: Q8_0 blocks with BaseQ8
}

// ignored reports tensors that checkpoints carry but that are not parameters: rotary inverse
// frequency buffers of old Llama checkpoints and GPT-2's attention mask buffers.
func ignored(f Family, name string) bool {
	if f == FamilyGPT2 {
		return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias")
	}
	return strings.HasSuffix(name, ".rotary_emb.inv_freq")
}

// FromSource builds a model of the architecture cfg describes from the tensors of src. Loading is
// strict: a missing, unexpected or mis-shaped tensor is an error naming it.
func FromSource(cfg *Config, src Source) (*Model, error) {
	return FromSourceWith(cfg, src, LoadOptions{})
}

// FromSourceWith is FromSource with the base's storage chosen by opts.
func FromSourceWith(cfg *Config, src Source, opts LoadOptions) (*Model, error) {
	m, specs, err := skeleton(cfg, src)
	if err != nil {
		return nil, err
	}
	if err := loadSpecs(src, specs, cfg.Family, opts); err != nil {
		return nil, err
	}
	return m, nil
}

// skeleton allocates a model of cfg's architecture and lists the checkpoint tensors that fill it.
// src is consulted only for the GPT-2 key prefix.
func skeleton(cfg *Config, src Source) (*Model, []tensorSpec, error) {
	m := &Model{Config: cfg, lay: layoutOf(cfg)}
	var specs []tensorSpec
	param := func(name string, shape ...int) *Param {
		p := &Param{Name: name, Shape: shape, W: make([]float32, prod(shape))}
		return p
	}
	add := func(key string, p *Param) {
		specs = append(specs, tensorSpec{name: key, shape: p.Shape, dst: p.W})
	}
	// matrix is a (V, C) embedding or LM head, allocated at load in the base's dtype.
	matrix := func(name string, shape ...int) *Param {
		p := &Param{Name: name, Shape: shape}
		specs = append(specs, tensorSpec{name: name, shape: shape, w: &p.W, frozen: &p.Frozen})
		return p
	}
	linear := func(key, path string, in, out int, bias, conv1D bool) *Linear {
		l := &Linear{Path: path, In: in, Out: out, Conv1D: conv1D}
		shape := []int{out, in}
		if conv1D {
			shape = []int{in, out}
		}
		specs = append(specs, tensorSpec{name: key + ".weight", shape: shape, w: &l.W, frozen: &l.Frozen, linear: true, trans: conv1D})
		if bias {
			l.Bias = make([]float32, out)
			specs = append(specs, tensorSpec{name: key + ".bias", shape: []int{out}, dst: l.Bias})
		}
		return l
	}
	c, V, C, I := cfg, cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize
	eps := float32(cfg.NormEps)
	m.Blocks = make([]Block, cfg.NumHiddenLayers)
	switch cfg.Family {
	case FamilyLlama:
		m.Embed = matrix("model.embed_tokens.weight", V, C)
		normOf := func(path string, d int) Norm {
			n := Norm{W: param(path+".weight", d), Offset: c.NormOffset, Eps: eps, Prefix: path}
			add(n.W.Name, n.W)
			return n
		}
		norm := func(path string) Norm { return normOf(path, C) }
		optional := func(path string, d int) *Norm {
			n := normOf(path, d)
			return &n
		}
		// Rotary tables: one, or (Gemma 3) a second for the sliding-window layers.
		m.ropeInv = [][]float32{ropeInvFreq(c.HeadDim, c.Rope)}
		localRope := 0
		if c.RopeLocal != c.Rope {
			m.ropeInv = append(m.ropeInv, ropeInvFreq(c.HeadDim, c.RopeLocal))
			localRope = 1
		}
		for i := range m.Blocks {
			b := &m.Blocks[i]
			p := fmt.Sprintf("model.layers.%d.", i)
			b.Norm1 = norm(p + "input_layernorm")
			b.Q = linear(p+"self_attn.q_proj", p+"self_attn.q_proj", C, c.QDim(), c.QKVBias, false)
			b.K = linear(p+"self_attn.k_proj", p+"self_attn.k_proj", C, c.KVDim(), c.QKVBias, false)
			b.V = linear(p+"self_attn.v_proj", p+"self_attn.v_proj", C, c.KVDim(), c.QKVBias, false)
			b.O = linear(p+"self_attn.o_proj", p+"self_attn.o_proj", c.QDim(), C, c.OBias, false)
			if c.QKNorm {
				b.QNorm = optional(p+"self_attn.q_norm", c.HeadDim)
				b.KNorm = optional(p+"self_attn.k_norm", c.HeadDim)
			}
			if c.PostNorms {
				b.PostAttn = optional(p+"post_attention_layernorm", C)
				b.Norm2 = norm(p + "pre_feedforward_layernorm")
				b.PostFF = optional(p+"post_feedforward_layernorm", C)
			} else {
				b.Norm2 = norm(p + "post_attention_layernorm")
			}
			b.Gate = linear(p+"mlp.gate_proj", p+"mlp.gate_proj", C, I, c.MLPBias, false)
			b.Up = linear(p+"mlp.up_proj", p+"mlp.up_proj", C, I, c.MLPBias, false)
			b.Down = linear(p+"mlp.down_proj", p+"mlp.down_proj", I, C, c.MLPBias, false)
			b.attnScale = float32(c.AttnScale)
			b.window = c.Windows[i]
			if b.window > 0 {
				b.rope = localRope
			}
		}
		m.Final = norm("model.norm")
	case FamilyGPT2:
		// Checkpoints saved by transformers prefix keys with "transformer."; the original hub
		// files do not. Parameter names and module paths always use the prefixed form.
		pre := "transformer."
		if src.Info("transformer.wte.weight") == nil && src.Info("wte.weight") != nil {
			pre = ""
		}
		key := func(path string) string { return pre + strings.TrimPrefix(path, "transformer.") }
		P := cfg.MaxPositionEmbeddings
		m.Embed = matrix("transformer.wte.weight", V, C)
		specs[len(specs)-1].name = key(m.Embed.Name)
		m.Pos = param("transformer.wpe.weight", P, C)
		add(key(m.Pos.Name), m.Pos)
		norm := func(path string) Norm {
			n := Norm{W: param(path+".weight", C), B: param(path+".bias", C), Layer: true, Eps: eps, Prefix: path}
			add(key(n.W.Name), n.W)
			add(key(n.B.Name), n.B)
			return n
		}
		for i := range m.Blocks {
			b := &m.Blocks[i]
			p := fmt.Sprintf("transformer.h.%d.", i)
			b.Norm1 = norm(p + "ln_1")
			b.QKV = linear(key(p+"attn.c_attn"), p+"attn.c_attn", C, 3*C, true, true)
			b.O = linear(key(p+"attn.c_proj"), p+"attn.c_proj", C, C, true, true)
			b.Norm2 = norm(p + "ln_2")
			b.Up = linear(key(p+"mlp.c_fc"), p+"mlp.c_fc", C, I, true, true)
			b.Down = linear(key(p+"mlp.c_proj"), p+"mlp.c_proj", I, C, true, true)
			b.attnScale = 1
			if c.ScaleAttnWeights == nil || *c.ScaleAttnWeights {
				b.attnScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
			}
			if c.ScaleAttnByInverseLayerIdx {
				b.attnScale /= float32(i + 1)
			}
		}
		m.Final = norm("transformer.ln_f")
	default:
		return nil, nil, fmt.Errorf("unsupported model family %v", cfg.Family)
	}
	if cfg.Tied {
		m.LMHead = m.Embed
	} else {
		m.LMHead = matrix("lm_head.weight", V, C)
	}
	return m, specs, nil
}

// loadSpecs checks names and shapes of every tensor before reading any data, then reads them.
func loadSpecs(src Source, specs []tensorSpec, f Family, opts LoadOptions) error {
	want := make(map[string]bool, len(specs))
	var errs []error
	for _, s := range specs {
		want[s.name] = true
		info := src.Info(s.name)
		if info == nil {
			errs = append(errs, fmt.Errorf("missing tensor %q (expected shape %v)", s.name, s.shape))
			continue
		}
		if !slices.Equal(info.Shape, s.shape) {
			errs = append(errs, fmt.Errorf("tensor %q has shape %v, expected %v", s.name, info.Shape, s.shape))
		}
	}
	for _, n := range src.Names() {
		if !want[n] && !ignored(f, n) {
			errs = append(errs, fmt.Errorf("unexpected tensor %q (not a parameter of this architecture)", n))
		}
	}
	if len(errs) > 0 {
		if len(errs) > 8 {
			errs = append(errs[:8], fmt.Errorf("… and %d more problems", len(errs)-8))
		}
		return errors.Join(errs...)
	}
	for _, s := range specs {
		switch h := opts.heldAs(s, src.Info(s.name).DType); h {
		case heldQ8:
			v, _, err := src.Float32(s.name)
			if err != nil {
				return err
			}
			if s.trans {
				v = transposed(v, s.shape[0], s.shape[1])
			}
			*s.frozen = gemm.Weights{Q8: QuantizeQ8(v)} // blocks run along the input dimension (rows of (Out, In))
			continue
		case heldBF16, heldF16:
			u, err := readHalf(src, s.name, h)
			if err != nil {
				return err
			}
			if s.trans {
				u = transposed(u, s.shape[0], s.shape[1])
			}
			h.set(s.frozen, u)
			continue
		}
		v, _, err := src.Float32(s.name)
		if err != nil {
			return err
		}
		if s.w != nil {
			*s.w = make([]float32, prod(s.shape))
			s.dst = *s.w
		}
		if s.trans {
			in, out := s.shape[0], s.shape[1]
			for i := 0; i < in; i++ {
				for o := 0; o < out; o++ {
					s.dst[o*in+i] = v[i*out+o]
				}
			}
		} else {
			copy(s.dst, v)
		}
	}
	return nil
}

// inWidth is the input width (In) of a linear weight's spec.
func inWidth(s tensorSpec) int {
	if s.trans {
		return s.shape[0]
	}
	return s.shape[1]
}

// transposed returns the (out, in) transpose of v stored (in, out).
func transposed[T any](v []T, in, out int) []T {
	d := make([]T, len(v))
	for i := 0; i < in; i++ {
		for o := 0; o < out; o++ {
			d[o*in+i] = v[i*out+o]
		}
	}
	return d
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
