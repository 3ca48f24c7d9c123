package export

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// GGUFOutType is the tensor type of a GGUF model file's matrices (--outtype): norms, biases and
// other 1-D tensors stay F32 whatever it is, as convert_hf_to_gguf.py keeps them.
type GGUFOutType int

// The output types, with llama.cpp's general.file_type (LlamaFileType) of each.
const (
	OutF32  GGUFOutType = iota // ALL_F32 = 0
	OutF16                     // MOSTLY_F16 = 1
	OutBF16                    // MOSTLY_BF16 = 32
	OutQ8_0                    // MOSTLY_Q8_0 = 7
)

var outTypes = []struct {
	name     string
	ggml     GGMLType
	fileType uint32
}{
	OutF32:  {"f32", GGMLF32, 0},
	OutF16:  {"f16", GGMLF16, 1},
	OutBF16: {"bf16", GGMLBF16, 32},
	OutQ8_0: {"q8_0", GGMLQ8_0, 7},
}

func (t GGUFOutType) String() string { return outTypes[t].name }

// ParseGGUFOutType reads an --outtype value: f32, f16, bf16 or q8_0.
func ParseGGUFOutType(s string) (GGUFOutType, error) {
	for i, o := range outTypes {
		if o.name == strings.ToLower(s) {
			return GGUFOutType(i), nil
		}
	}
	return 0, fmt.Errorf("--outtype %q: expected f32, f16, bf16 or q8_0", s)
}

// GGUFModelInfo summarises a written GGUF model file.
type GGUFModelInfo struct {
	Path         string         `json:"path"`
	Architecture string         `json:"architecture"` // general.architecture
	OutType      string         `json:"outtype"`
	Tensors      int            `json:"tensors"`
	Types        map[string]int `json:"tensor_types"` // ggml type name → number of tensors
	Bytes        int64          `json:"bytes"`
	ChatTemplate bool           `json:"chat_template"`
}

// ggufSpec is one checkpoint tensor and the GGUF tensor it becomes.
type ggufSpec struct {
	hf       string // checkpoint name
	shape    []int  // checkpoint shape
	gguf     string // GGUF name
	optional bool
	// transform, if set, rewrites the checkpoint values (permutation, transpose) into outShape.
	transform func([]float32) []float32
	outShape  []int // nil: shape
}

// GGUFModel writes out, a complete llama.cpp model file for the Hugging Face model folder dir
// (a base model, or one written by Merged): the architecture's metadata and tensor names as
// convert_hf_to_gguf.py writes them (Llama and Mistral as "llama" with q/k rows permuted for its
// rotary layout, Qwen2 as "qwen2", GPT-2 as "gpt2" with Conv1D weights transposed), the tokenizer
// (byte-level BPE) and chat template, and the matrices in type t. The checkpoint is read strictly:
// a missing, unexpected or mis-shaped tensor, or a non-finite weight, is an error and nothing is
// written. Tensors are converted one at a time into a temporary file renamed to out at the end.
func GGUFModel(out, dir string, t GGUFOutType, force bool, progress func(done, total int)) (*GGUFModelInfo, error) {
	if err := checkDest(out, force); err != nil {
		return nil, err
	}
	cfg, err := model.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	arch, ok := ggufArch[cfg.Architecture]
	if !ok {
		_, err := GGUFArchitecture(cfg.Architecture)
		return nil, err
	}
	if err := llamaCppRuns(cfg); err != nil {
		return nil, fmt.Errorf("export: %s: %w", filepath.Join(dir, "config.json"), err)
	}
	vocab, err := readGGUFVocab(dir, cfg)
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer set.Close()
	specs := ggufSpecs(cfg, set, arch.permuteQK)
	ts, err := ggufOutputs(cfg, set, specs, outTypes[t].ggml)
	if err != nil {
		return nil, err
	}

	var kv ggufKV
	kv.str("general.architecture", arch.name)
	kv.str("general.type", "model")
	kv.str("general.name", filepath.Base(filepath.Clean(dir)))
	ggufHyperparameters(&kv, arch.name, cfg)
	kv.u32("general.file_type", outTypes[t].fileType)
	kv.u32("general.quantization_version", 2) // GGML_QUANT_VERSION
	vocab.addTo(&kv)

	info := &GGUFModelInfo{Path: out, Architecture: arch.name, OutType: t.String(), Tensors: len(ts), Types: map[string]int{}, ChatTemplate: vocab.template != ""}
	for _, o := range ts {
		info.Types[o.typ.String()]++
		info.Bytes += int64(o.bytes())
	}
	err = writeFileFunc(out, force, func(w io.Writer) error {
		return writeGGUFStream(w, kv, ts, func(i int, _ ggufOut) {
			if progress != nil {
				progress(i+1, len(ts))
			}
		})
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// llamaCppRuns refuses the settings we load but llama.cpp's graph for the architecture does not
// compute (its output would silently differ): GPT-2's exact-erf GELU (llama.cpp uses the tanh
// form) and its attention-scaling variants. Sliding windows are not refused: llama.cpp's llama
// and qwen2 graphs attend to the whole context, which equals the windowed model while the
// context is shorter than the window (the converter writes no window either).
func llamaCppRuns(cfg *model.Config) error {
	if cfg.Family != model.FamilyGPT2 {
		return nil
	}
	switch {
	case cfg.Act != "gelu_new":
		return fmt.Errorf(`"activation_function" is %q; llama.cpp's gpt2 graph computes the tanh GELU ("gelu_new") only`, cfg.ActivationFunction)
	case cfg.ScaleAttnWeights != nil && !*cfg.ScaleAttnWeights:
		return fmt.Errorf(`"scale_attn_weights" is false; llama.cpp's gpt2 graph always scales attention by 1/√d`)
	case cfg.ScaleAttnByInverseLayerIdx:
		return fmt.Errorf(`"scale_attn_by_inverse_layer_idx" is true; llama.cpp's gpt2 graph has no per-layer attention scaling`)
	}
	return nil
}

// ggufHyperparameters writes the architecture keys: TextModel.set_gguf_parameters, plus
// LlamaModel's vocab size, rope dimension and linear rope scaling, or GPT2Model's own set.
func ggufHyperparameters(kv *ggufKV, a string, cfg *model.Config) {
	k := func(s string) string { return a + "." + s }
	kv.u32(k("block_count"), uint32(cfg.NumHiddenLayers))
	kv.u32(k("context_length"), uint32(cfg.MaxPositionEmbeddings))
	kv.u32(k("embedding_length"), uint32(cfg.HiddenSize))
	kv.u32(k("feed_forward_length"), uint32(cfg.IntermediateSize))
	kv.u32(k("attention.head_count"), uint32(cfg.NumAttentionHeads))
	if cfg.Family == model.FamilyGPT2 {
		kv.f32(k("attention.layer_norm_epsilon"), float32(cfg.NormEps))
		return
	}
	kv.u32(k("attention.head_count_kv"), uint32(cfg.NumKeyValueHeads))
	kv.f32(k("rope.freq_base"), float32(cfg.Rope.RopeTheta))
	kv.f32(k("attention.layer_norm_rms_epsilon"), float32(cfg.NormEps))
	// Written whenever config.json states head_dim in the converter; always here (llama.cpp
	// defaults it to embedding_length / head_count, which the resolved head_dim equals otherwise).
	kv.u32(k("attention.key_length"), uint32(cfg.HeadDim))
	kv.u32(k("attention.value_length"), uint32(cfg.HeadDim))
	kv.u32(k("vocab_size"), uint32(cfg.VocabSize))
	kv.u32(k("rope.dimension_count"), uint32(cfg.HeadDim))
	if cfg.Rope.RopeType == "linear" {
		kv.str(k("rope.scaling.type"), "linear")
		kv.f32(k("rope.scaling.factor"), float32(cfg.Rope.Factor))
	}
}

// ggufSpecs lists the checkpoint tensors of cfg's family and their GGUF names, in the order
// they are written.
func ggufSpecs(cfg *model.Config, src safetensors.Source, permuteQK bool) []ggufSpec {
	C, V, I, L := cfg.HiddenSize, cfg.VocabSize, cfg.IntermediateSize, cfg.NumHiddenLayers
	var s []ggufSpec
	add := func(hf string, shape []int, name string) *ggufSpec {
		s = append(s, ggufSpec{hf: hf, shape: shape, gguf: name})
		return &s[len(s)-1]
	}
	if cfg.Family == model.FamilyGPT2 {
		p := ""
		if src.Info("transformer.wte.weight") != nil {
			p = "transformer."
		}
		// Conv1D weights are (in, out) in the checkpoint; GGUF wants (out, in).
		conv := func(hf string, in, out int, name string) {
			sp := add(hf, []int{in, out}, name)
			sp.outShape = []int{out, in}
			sp.transform = func(x []float32) []float32 { return transpose(x, in, out) }
		}
		add(p+"wte.weight", []int{V, C}, "token_embd.weight")
		add(p+"wpe.weight", []int{cfg.MaxPositionEmbeddings, C}, "position_embd.weight")
		for i := range L {
			h, b := fmt.Sprintf("%sh.%d.", p, i), fmt.Sprintf("blk.%d.", i)
			add(h+"ln_1.weight", []int{C}, b+"attn_norm.weight")
			add(h+"ln_1.bias", []int{C}, b+"attn_norm.bias")
			conv(h+"attn.c_attn.weight", C, 3*C, b+"attn_qkv.weight")
			add(h+"attn.c_attn.bias", []int{3 * C}, b+"attn_qkv.bias")
			conv(h+"attn.c_proj.weight", C, C, b+"attn_output.weight")
			add(h+"attn.c_proj.bias", []int{C}, b+"attn_output.bias")
			add(h+"ln_2.weight", []int{C}, b+"ffn_norm.weight")
			add(h+"ln_2.bias", []int{C}, b+"ffn_norm.bias")
			conv(h+"mlp.c_fc.weight", C, I, b+"ffn_up.weight")
			add(h+"mlp.c_fc.bias", []int{I}, b+"ffn_up.bias")
			conv(h+"mlp.c_proj.weight", I, C, b+"ffn_down.weight")
			add(h+"mlp.c_proj.bias", []int{C}, b+"ffn_down.bias")
		}
		add(p+"ln_f.weight", []int{C}, "output_norm.weight")
		add(p+"ln_f.bias", []int{C}, "output_norm.bias")
		add("lm_head.weight", []int{V, C}, "output.weight").optional = cfg.Tied
		return s
	}
	Q, KV := cfg.QDim(), cfg.KVDim()
	perm := func(sp *ggufSpec, heads int) {
		if permuteQK {
			rows, cols := sp.shape[0], 1
			if len(sp.shape) == 2 {
				cols = sp.shape[1]
			}
			sp.transform = func(x []float32) []float32 { return permuteRows(x, rows, cols, heads) }
		}
	}
	add("model.embed_tokens.weight", []int{V, C}, "token_embd.weight")
	for i := range L {
		h, b := fmt.Sprintf("model.layers.%d.", i), fmt.Sprintf("blk.%d.", i)
		add(h+"input_layernorm.weight", []int{C}, b+"attn_norm.weight")
		perm(add(h+"self_attn.q_proj.weight", []int{Q, C}, b+"attn_q.weight"), cfg.NumAttentionHeads)
		if cfg.QKVBias {
			perm(add(h+"self_attn.q_proj.bias", []int{Q}, b+"attn_q.bias"), cfg.NumAttentionHeads)
		}
		perm(add(h+"self_attn.k_proj.weight", []int{KV, C}, b+"attn_k.weight"), cfg.NumKeyValueHeads)
		if cfg.QKVBias {
			perm(add(h+"self_attn.k_proj.bias", []int{KV}, b+"attn_k.bias"), cfg.NumKeyValueHeads)
		}
		add(h+"self_attn.v_proj.weight", []int{KV, C}, b+"attn_v.weight")
		if cfg.QKVBias {
			add(h+"self_attn.v_proj.bias", []int{KV}, b+"attn_v.bias")
		}
		add(h+"self_attn.o_proj.weight", []int{C, Q}, b+"attn_output.weight")
		if cfg.OBias {
			add(h+"self_attn.o_proj.bias", []int{C}, b+"attn_output.bias")
		}
		add(h+"post_attention_layernorm.weight", []int{C}, b+"ffn_norm.weight")
		add(h+"mlp.gate_proj.weight", []int{I, C}, b+"ffn_gate.weight")
		add(h+"mlp.up_proj.weight", []int{I, C}, b+"ffn_up.weight")
		add(h+"mlp.down_proj.weight", []int{C, I}, b+"ffn_down.weight")
		if cfg.MLPBias {
			add(h+"mlp.gate_proj.bias", []int{I}, b+"ffn_gate.bias")
			add(h+"mlp.up_proj.bias", []int{I}, b+"ffn_up.bias")
			add(h+"mlp.down_proj.bias", []int{C}, b+"ffn_down.bias")
		}
	}
	add("model.norm.weight", []int{C}, "output_norm.weight")
	add("lm_head.weight", []int{V, C}, "output.weight").optional = cfg.Tied
	return s
}

// ggufOutputs checks the checkpoint against specs (every tensor known, every required one
// present with its shape) and returns the tensors to write, with llama.cpp's rope_freqs for a
// llama3-scaled rope.
func ggufOutputs(cfg *model.Config, src safetensors.Source, specs []ggufSpec, mat GGMLType) ([]ggufOut, error) {
	known := map[string]bool{}
	for _, sp := range specs {
		known[sp.hf] = true
	}
	for _, n := range src.Names() {
		if !known[n] && !ignored(cfg.Family, n) {
			return nil, fmt.Errorf("export: the checkpoint holds %q, which no %s tensor of a GGUF model corresponds to", n, cfg.Architecture)
		}
	}
	var ts []ggufOut
	if cfg.Family == model.FamilyLlama && cfg.Rope.RopeType == "llama3" {
		f := llama3RopeFactors(cfg)
		ts = append(ts, ggufOut{"rope_freqs.weight", []int{len(f)}, GGMLF32, func() ([]float32, error) { return f, nil }})
	}
	for _, sp := range specs {
		info := src.Info(sp.hf)
		if info == nil {
			if sp.optional {
				continue
			}
			return nil, fmt.Errorf("export: the checkpoint has no tensor %q, which %s needs", sp.hf, cfg.Architecture)
		}
		if !info.DType.IsFloat() || !slices.Equal(info.Shape, sp.shape) {
			return nil, fmt.Errorf("export: tensor %q is %s %v, expected a float tensor of shape %v (from config.json)", sp.hf, info.DType, info.Shape, sp.shape)
		}
		shape := sp.shape
		if sp.outShape != nil {
			shape = sp.outShape
		}
		o := ggufOut{name: sp.gguf, shape: shape, typ: tensorType(sp.gguf, shape, mat)}
		sp := sp
		o.load = func() ([]float32, error) {
			x, _, err := src.Float32(sp.hf)
			if err != nil {
				return nil, fmt.Errorf("export: %w", err)
			}
			for j, v := range x {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, fmt.Errorf("export: tensor %q holds %v at index %d; not writing a model with non-finite weights", sp.hf, v, j)
				}
			}
			if sp.transform != nil {
				x = sp.transform(x)
			}
			return x, nil
		}
		ts = append(ts, o)
	}
	return ts, nil
}

// tensorType is the converter's choice: 1-D tensors, norms, biases (anything not ".weight") and
// GPT-2's position embedding stay F32; the other matrices get mat, falling back to F16 when a
// row is not a whole number of Q8_0 blocks (gguf-py's QuantError fallback).
func tensorType(name string, shape []int, mat GGMLType) GGMLType {
	if len(shape) <= 1 || strings.HasSuffix(name, "_norm.weight") || !strings.HasSuffix(name, ".weight") || name == "position_embd.weight" {
		return GGMLF32
	}
	if _, ok := mat.rowBytes(uint64(shape[len(shape)-1])); !ok {
		return GGMLF16
	}
	return mat
}

// llama3RopeFactors is LlamaModel.generate_extra_tensors: per rotary frequency the divisor that
// llama3 rope scaling applies (1 for short wavelengths, factor for long, smooth in between).
func llama3RopeFactors(cfg *model.Config) []float32 {
	rp, dim := cfg.Rope, cfg.HeadDim
	old := float64(rp.OriginalMaxPositionEmbeddings)
	lowWave, highWave := old/rp.LowFreqFactor, old/rp.HighFreqFactor
	f := make([]float32, dim/2)
	for i := range f {
		freq := float64(float32(1 / math.Pow(rp.RopeTheta, float64(float32(2*i)/float32(dim)))))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			f[i] = 1
		case wave > lowWave:
			f[i] = float32(rp.Factor)
		default:
			smooth := (old/wave - rp.LowFreqFactor) / (rp.HighFreqFactor - rp.LowFreqFactor)
			f[i] = float32(1 / ((1-smooth)/rp.Factor + smooth))
		}
	}
	return f
}

// ignored: buffers checkpoints carry that are not parameters (the model loader skips the same).
func ignored(f model.Family, name string) bool {
	if f == model.FamilyGPT2 {
		return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias")
	}
	return strings.HasSuffix(name, ".rotary_emb.inv_freq")
}

// transpose returns the (cols, rows) transpose of x (rows, cols).
func transpose(x []float32, rows, cols int) []float32 {
	out := make([]float32, len(x))
	for i := range rows {
		for j := range cols {
			out[j*rows+i] = x[i*cols+j]
		}
	}
	return out
}
