package model

import (
	"encoding/json"
	"fmt"
	"github.com/moslora/moslora/internal/jsonerr"
	"math"
	"os"
)

// Family is the layer structure a checkpoint's architecture maps to.
type Family int

const (
	// FamilyLlama: RMSNorm, rotary positions, SwiGLU MLP, separate q/k/v/o projections
	// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM).
	FamilyLlama Family = iota + 1
	// FamilyGPT2: LayerNorm, learned positions, GELU MLP, fused c_attn, Conv1D weights.
	FamilyGPT2
)

func (f Family) String() string {
	switch f {
	case FamilyLlama:
		return "llama"
	case FamilyGPT2:
		return "gpt2"
	}
	return "unknown"
}

// RopeParameters are the rotary-embedding settings: transformers v5 writes them as
// "rope_parameters" (including rope_theta), v4 as "rope_scaling" beside a top-level "rope_theta".
type RopeParameters struct {
	RopeType       string  `json:"rope_type"`
	Type           string  `json:"type"` // older v4 spelling of rope_type
	RopeTheta      float64 `json:"rope_theta"`
	Factor         float64 `json:"factor"`
	LowFreqFactor  float64 `json:"low_freq_factor"`
	HighFreqFactor float64 `json:"high_freq_factor"`
	// OriginalMaxPositionEmbeddings is the pre-training context of a llama3-scaled model.
	OriginalMaxPositionEmbeddings int `json:"original_max_position_embeddings"`
	// Per layer type (Gemma 3, v5): the settings of "full_attention" and "sliding_attention"
	// layers, each a RopeParameters of its own.
	FullAttention    *RopeParameters `json:"full_attention"`
	SlidingAttention *RopeParameters `json:"sliding_attention"`
}

// Config is a model's config.json: the Llama-style names, their GPT-2 spellings, and the fields
// that differ between transformers v4 and v5. ParseConfig resolves the GPT-2 names and v4/v5
// differences into the canonical fields (HiddenSize, NumHiddenLayers, …) and fills the derived
// fields, so the rest of the package reads only those.
type Config struct {
	Architectures         []string `json:"architectures"`
	ModelType             string   `json:"model_type"`
	VocabSize             int      `json:"vocab_size"`
	HiddenSize            int      `json:"hidden_size"`         // C: residual stream width
	IntermediateSize      int      `json:"intermediate_size"`   // I: MLP width
	NumHiddenLayers       int      `json:"num_hidden_layers"`   // L: decoder blocks
	NumAttentionHeads     int      `json:"num_attention_heads"` // H: query heads
	NumKeyValueHeads      int      `json:"num_key_value_heads"` // KV heads (grouped-query attention); 0 = H
	HeadDim               int      `json:"head_dim"`            // D: per-head width; 0 = C/H
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	HiddenAct             string   `json:"hidden_act"`
	AttentionBias         *bool    `json:"attention_bias"` // q/k/v/o biases (Llama, Mistral)
	MLPBias               bool     `json:"mlp_bias"`
	TieWordEmbeddings     *bool    `json:"tie_word_embeddings"` // nil: the architecture's default

	RopeTheta      float64         `json:"rope_theta"`      // v4
	RopeScaling    *RopeParameters `json:"rope_scaling"`    // v4
	RopeParameters *RopeParameters `json:"rope_parameters"` // v5
	TorchDType     string          `json:"torch_dtype"`     // v4
	DType          string          `json:"dtype"`           // v5

	SlidingWindow    *int     `json:"sliding_window"`     // Mistral (and Qwen2 when UseSlidingWindow)
	UseSlidingWindow *bool    `json:"use_sliding_window"` // Qwen2
	MaxWindowLayers  int      `json:"max_window_layers"`  // Qwen2 v4: layers ≥ this use the window
	LayerTypes       []string `json:"layer_types"`        // v5: "full_attention" | "sliding_attention" per layer

	// Gemma 3 (text).
	HiddenActivation      string   `json:"hidden_activation"`       // Gemma's name for hidden_act
	QueryPreAttnScalar    *float64 `json:"query_pre_attn_scalar"`   // attention scale = this^-½
	FinalLogitSoftcapping *float64 `json:"final_logit_softcapping"` // logits = cap·tanh(logits/cap)
	AttnLogitSoftcapping  *float64 `json:"attn_logit_softcapping"`  // scores = cap·tanh(scores/cap)
	RopeLocalBaseFreq     float64  `json:"rope_local_base_freq"`    // v4: rope theta of sliding layers
	SlidingWindowPattern  int      `json:"sliding_window_pattern"`  // v4: every Nth layer is global
	SlidingWindowPattern_ int      `json:"_sliding_window_pattern"` // v5 spelling of the same

	// GPT-2 spellings.
	NEmbd                      int     `json:"n_embd"`
	NLayer                     int     `json:"n_layer"`
	NHead                      int     `json:"n_head"`
	NInner                     *int    `json:"n_inner"` // nil: 4·n_embd
	NPositions                 int     `json:"n_positions"`
	LayerNormEpsilon           float64 `json:"layer_norm_epsilon"`
	ActivationFunction         string  `json:"activation_function"`
	ScaleAttnWeights           *bool   `json:"scale_attn_weights"`
	ScaleAttnByInverseLayerIdx bool    `json:"scale_attn_by_inverse_layer_idx"`

	// Derived by ParseConfig.
	Architecture string         `json:"-"` // Architectures[0]
	Family       Family         `json:"-"`
	Tied         bool           `json:"-"` // the LM head shares the token embedding
	QKVBias      bool           `json:"-"` // q/k/v projections have biases
	OBias        bool           `json:"-"` // o_proj has a bias
	NormEps      float64        `json:"-"` // RMSNorm or LayerNorm epsilon
	Act          string         `json:"-"` // "silu", "gelu_new" or "gelu"
	Rope         RopeParameters `json:"-"` // resolved rotary settings (Llama family; Gemma 3: global layers)
	RopeLocal    RopeParameters `json:"-"` // rotary settings of sliding-window layers (= Rope unless Gemma 3)
	QKNorm       bool           `json:"-"` // per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3)
	NormOffset   float32        `json:"-"` // RMSNorm weight is (NormOffset + w): 1 for Gemma, else 0
	PostNorms    bool           `json:"-"` // post-attention and pre/post feed-forward norms (Gemma 3)
	EmbedScale   float32        `json:"-"` // embeddings are multiplied by this (Gemma: √hidden), else 1
	AttnScale    float64        `json:"-"` // attention score scale (1/√head_dim unless query_pre_attn_scalar)
	LogitCap     float64        `json:"-"` // final logit softcapping, 0 = none
	AttnCap      float64        `json:"-"` // attention score softcapping, 0 = none
	Window       int            `json:"-"` // sliding attention window, 0 = none
	Windows      []int          `json:"-"` // (L) window of each layer, 0 = full causal
	WeightDType  string         `json:"-"` // "float32", "bfloat16", … as declared
}

// LoadConfig reads and resolves dir/config.json.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: reading config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses config.json bytes and resolves the canonical and derived fields. Errors name
// the offending key and what was expected.
func ParseConfig(b []byte) (*Config, error) {
	c := &Config{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("config JSON: %s", jsonerr.Describe(err))
	}
	if len(c.Architectures) != 1 {
		return nil, fmt.Errorf(`"architectures" must list exactly one architecture, got %v`, c.Architectures)
	}
	c.Architecture = c.Architectures[0]
	c.WeightDType = c.DType
	if c.WeightDType == "" {
		c.WeightDType = c.TorchDType
	}
	switch c.Architecture {
	case "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM":
		if err := c.resolveLlama(); err != nil {
			return nil, err
		}
	case "Gemma3ForCausalLM":
		if err := c.resolveGemma3(); err != nil {
			return nil, err
		}
	case "GPT2LMHeadModel":
		if err := c.resolveGPT2(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported architecture %q in \"architectures\" (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, GPT2LMHeadModel)", c.Architecture)
	}
	return c, c.validate()
}

func (c *Config) resolveLlama() error {
	c.Family = FamilyLlama
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	c.NormEps = c.RMSNormEps
	if c.NormEps == 0 {
		c.NormEps = 1e-6
	}
	c.Act = c.HiddenAct
	if c.Act == "" {
		c.Act = "silu"
	}
	if c.Act != "silu" {
		return fmt.Errorf(`"hidden_act" is %q, expected "silu"`, c.Act)
	}
	// Tying defaults to false for these architectures in transformers.
	c.Tied = c.TieWordEmbeddings != nil && *c.TieWordEmbeddings
	c.EmbedScale = 1
	c.AttnScale = 1 / math.Sqrt(float64(c.HeadDim))
	switch c.Architecture {
	case "Qwen2ForCausalLM", "Qwen3ForCausalLM":
		if c.Architecture == "Qwen2ForCausalLM" {
			c.QKVBias = true
		} else {
			c.QKNorm = true
			if c.AttentionBias != nil && *c.AttentionBias {
				c.QKVBias, c.OBias = true, true
			}
		}
		if c.UseSlidingWindow != nil && *c.UseSlidingWindow && c.SlidingWindow != nil {
			c.Window = *c.SlidingWindow
		}
	default:
		if c.AttentionBias != nil && *c.AttentionBias {
			c.QKVBias, c.OBias = true, true
		}
		if c.Architecture == "MistralForCausalLM" && c.SlidingWindow != nil {
			c.Window = *c.SlidingWindow
		}
	}
	// Rotary settings: v5 rope_parameters, else v4 rope_theta + rope_scaling.
	var rp RopeParameters
	switch {
	case c.RopeParameters != nil:
		rp = *c.RopeParameters
	case c.RopeScaling != nil:
		rp = *c.RopeScaling
		rp.RopeTheta = c.RopeTheta
	default:
		rp.RopeTheta = c.RopeTheta
	}
	var err error
	if c.Rope, err = c.resolveRope(rp, ""); err != nil {
		return err
	}
	c.RopeLocal = c.Rope
	return c.resolveWindows()
}

// resolveRope fills rp's defaults (type "default", theta from rope_theta or 10000) and checks
// its type's parameters. which names the layer type in errors ("" for a single setting).
func (c *Config) resolveRope(rp RopeParameters, which string) (RopeParameters, error) {
	rp.FullAttention, rp.SlidingAttention = nil, nil
	if which != "" {
		which = fmt.Sprintf(" (%q layers)", which)
	}
	if rp.RopeType == "" {
		rp.RopeType = rp.Type
	}
	if rp.RopeType == "" {
		rp.RopeType = "default"
	}
	if rp.RopeTheta == 0 {
		rp.RopeTheta = c.RopeTheta
	}
	if rp.RopeTheta == 0 {
		rp.RopeTheta = 10000
	}
	switch rp.RopeType {
	case "default":
	case "linear":
		if rp.Factor <= 0 {
			return rp, fmt.Errorf(`rope type "linear"%s needs "factor" > 0, got %v`, which, rp.Factor)
		}
	case "llama3":
		if rp.Factor <= 0 || rp.LowFreqFactor <= 0 || rp.HighFreqFactor <= rp.LowFreqFactor || rp.OriginalMaxPositionEmbeddings <= 0 {
			return rp, fmt.Errorf(`rope type "llama3"%s needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0, got %+v`, which, rp)
		}
	default:
		return rp, fmt.Errorf(`unsupported rope type %q%s (supported: "default", "linear", "llama3")`, rp.RopeType, which)
	}
	return rp, nil
}

// maxLayers bounds "num_hidden_layers" (the largest published decoders have about 130 layers), so
// that a damaged config cannot size per-layer lists beyond memory.
const maxLayers = 1 << 12

// resolveWindows sets the per-layer sliding windows: the layers layer_types marks
// "sliding_attention" (v5); without layer_types every Mistral layer, and the Qwen2 layers from
// max_window_layers on (v4).
func (c *Config) resolveWindows() error {
	L := c.NumHiddenLayers
	if L > maxLayers { // checked before the per-layer list is sized by it
		return fmt.Errorf(`"num_hidden_layers" is %d; expected at most %d`, L, maxLayers)
	}
	c.Windows = make([]int, max(L, 0))
	if len(c.LayerTypes) > 0 && len(c.LayerTypes) != L {
		return fmt.Errorf(`"layer_types" lists %d layers, expected %d ("num_hidden_layers")`, len(c.LayerTypes), L)
	}
	for i, t := range c.LayerTypes {
		switch t {
		case "full_attention":
		case "sliding_attention":
			if c.Window <= 0 {
				return fmt.Errorf(`"layer_types"[%d] is "sliding_attention" but no sliding window is enabled ("sliding_window"/"use_sliding_window")`, i)
			}
			c.Windows[i] = c.Window
		default:
			return fmt.Errorf(`"layer_types"[%d] is %q, expected "full_attention" or "sliding_attention"`, i, t)
		}
	}
	if len(c.LayerTypes) == 0 && c.Window > 0 {
		for i := range c.Windows {
			if (c.Architecture != "Qwen2ForCausalLM" && c.Architecture != "Qwen3ForCausalLM") || i >= c.MaxWindowLayers {
				c.Windows[i] = c.Window
			}
		}
	}
	return nil
}

func (c *Config) resolveGPT2() error {
	c.Family = FamilyGPT2
	if c.HiddenSize == 0 {
		c.HiddenSize = c.NEmbd
	}
	if c.NumHiddenLayers == 0 {
		c.NumHiddenLayers = c.NLayer
	}
	if c.NumAttentionHeads == 0 {
		c.NumAttentionHeads = c.NHead
	}
	c.NumKeyValueHeads = c.NumAttentionHeads
	if c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.MaxPositionEmbeddings == 0 {
		c.MaxPositionEmbeddings = c.NPositions
	}
	c.IntermediateSize = 4 * c.HiddenSize
	if c.NInner != nil && *c.NInner > 0 {
		c.IntermediateSize = *c.NInner
	}
	c.NormEps = c.LayerNormEpsilon
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	c.Act = c.ActivationFunction
	if c.Act == "" {
		c.Act = "gelu_new"
	}
	switch c.Act {
	case "gelu_new", "gelu_pytorch_tanh":
		c.Act = "gelu_new"
	case "gelu":
	default:
		return fmt.Errorf(`"activation_function" is %q, expected "gelu_new", "gelu_pytorch_tanh" or "gelu"`, c.Act)
	}
	c.Tied = c.TieWordEmbeddings == nil || *c.TieWordEmbeddings // GPT-2 ties by default
	c.QKVBias, c.OBias, c.MLPBias = true, true, true
	return nil
}

func (c *Config) validate() error {
	pos := func(key string, v int) error {
		if v <= 0 {
			return fmt.Errorf("%q must be a positive integer, got %d", key, v)
		}
		return nil
	}
	for _, kv := range []struct {
		k string
		v int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads}, {"head_dim", c.HeadDim},
	} {
		if err := pos(kv.k, kv.v); err != nil {
			return err
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf(`"num_attention_heads" (%d) must be a multiple of "num_key_value_heads" (%d)`, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.Family == FamilyLlama && c.HeadDim%2 != 0 {
		return fmt.Errorf(`"head_dim" must be even for rotary embeddings, got %d`, c.HeadDim)
	}
	if c.Family == FamilyGPT2 {
		if c.HiddenSize%c.NumAttentionHeads != 0 {
			return fmt.Errorf(`"n_embd" (%d) must be a multiple of "n_head" (%d)`, c.HiddenSize, c.NumAttentionHeads)
		}
		if err := pos("n_positions", c.MaxPositionEmbeddings); err != nil {
			return err
		}
	}
	return nil
}

// QDim is the width of the query projection output, H·D.
func (c *Config) QDim() int { return c.NumAttentionHeads * c.HeadDim }

// KVDim is the width of the key and value projection outputs, KV·D.
func (c *Config) KVDim() int { return c.NumKeyValueHeads * c.HeadDim }

// resolveGemma3 resolves a Gemma3ForCausalLM (text) config: (1 + w) RMSNorms (q/k norms
// included), post-attention and pre/post feed-forward norms, √hidden embedding scale,
// tanh-GELU gated MLP, attention scale query_pre_attn_scalar^-½, sliding-window layers from
// layer_types (else every layer but each sliding_window_pattern-th) with their own rotary base,
// and optional final logit and attention score softcapping. Defaults are transformers' Gemma3TextConfig's.
func (c *Config) resolveGemma3() error {
	c.Family = FamilyLlama
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 {
		c.HeadDim = 256
	}
	c.NormEps = c.RMSNormEps
	if c.NormEps == 0 {
		c.NormEps = 1e-6
	}
	c.Act = c.HiddenActivation
	if c.Act == "" {
		c.Act = c.HiddenAct
	}
	if c.Act == "" {
		c.Act = "gelu_pytorch_tanh"
	}
	if c.Act != "gelu_pytorch_tanh" && c.Act != "gelu_new" {
		return fmt.Errorf(`"hidden_activation" is %q, expected "gelu_pytorch_tanh"`, c.Act)
	}
	c.Act = "gelu_pytorch_tanh"
	c.Tied = c.TieWordEmbeddings == nil || *c.TieWordEmbeddings // Gemma ties by default
	if c.AttentionBias != nil && *c.AttentionBias {
		c.QKVBias, c.OBias = true, true
	}
	c.QKNorm, c.PostNorms, c.NormOffset = true, true, 1
	c.EmbedScale = float32(math.Sqrt(float64(c.HiddenSize)))
	qs := 256.0
	if c.QueryPreAttnScalar != nil {
		qs = *c.QueryPreAttnScalar
	}
	if qs <= 0 {
		return fmt.Errorf(`"query_pre_attn_scalar" must be > 0, got %v`, qs)
	}
	c.AttnScale = 1 / math.Sqrt(qs)
	if c.FinalLogitSoftcapping != nil {
		if *c.FinalLogitSoftcapping < 0 {
			return fmt.Errorf(`"final_logit_softcapping" must be > 0 or null, got %v`, *c.FinalLogitSoftcapping)
		}
		c.LogitCap = *c.FinalLogitSoftcapping
	}
	if c.AttnLogitSoftcapping != nil {
		if *c.AttnLogitSoftcapping < 0 {
			return fmt.Errorf(`"attn_logit_softcapping" must be > 0 or null, got %v`, *c.AttnLogitSoftcapping)
		}
		c.AttnCap = *c.AttnLogitSoftcapping
	}
	c.Window = 4096
	if c.SlidingWindow != nil {
		c.Window = *c.SlidingWindow
	}
	// Rotary settings: v5 rope_parameters per layer type; v4 rope_theta (+ rope_scaling) for
	// global layers and rope_local_base_freq (unscaled) for sliding ones.
	var global, local RopeParameters
	switch {
	case c.RopeParameters != nil && (c.RopeParameters.FullAttention != nil || c.RopeParameters.SlidingAttention != nil):
		if c.RopeParameters.FullAttention == nil || c.RopeParameters.SlidingAttention == nil {
			return fmt.Errorf(`"rope_parameters" must give both "full_attention" and "sliding_attention"`)
		}
		global, local = *c.RopeParameters.FullAttention, *c.RopeParameters.SlidingAttention
	case c.RopeParameters != nil:
		global = *c.RopeParameters
		local = RopeParameters{RopeTheta: c.RopeLocalBaseFreq}
	default:
		if c.RopeScaling != nil {
			global = *c.RopeScaling
		}
		global.RopeTheta = c.RopeTheta
		local = RopeParameters{RopeTheta: c.RopeLocalBaseFreq}
	}
	if global.RopeTheta == 0 && c.RopeTheta == 0 {
		global.RopeTheta = 1e6
	}
	if local.RopeTheta == 0 {
		local.RopeTheta = 1e4
	}
	var err error
	if c.Rope, err = c.resolveRope(global, "full_attention"); err != nil {
		return err
	}
	if c.RopeLocal, err = c.resolveRope(local, "sliding_attention"); err != nil {
		return err
	}
	if len(c.LayerTypes) == 0 {
		pattern := c.SlidingWindowPattern
		if pattern == 0 {
			pattern = c.SlidingWindowPattern_
		}
		if pattern == 0 {
			pattern = 6
		}
		for i := 0; i < c.NumHiddenLayers; i++ {
			t := "sliding_attention"
			if (i+1)%pattern == 0 {
				t = "full_attention"
			}
			c.LayerTypes = append(c.LayerTypes, t)
		}
	}
	return c.resolveWindows()
}
