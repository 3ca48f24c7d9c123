package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/moslora/moslora/internal/jsonerr"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"

	"github.com/moslora/moslora/adapter/mixer"
)

// Names of the built-in mixers (Config.Mixer; package mixer holds the table). The empty string
// means the plain identity mixer unless lora_use_mixer is set.
const (
	MixerIdentity  = mixer.IdentityName  // plain LoRA
	MixerDense     = mixer.DenseName     // MoSLoRA: learnable r×r mixer (lora_AB)
	MixerGlobal    = mixer.GlobalName    // softmax(π) weights per block of r/K
	MixerGated     = mixer.GatedName     // softmax(G·x + c) weights per token and block
	MixerGatedTopK = mixer.GatedTopKName // gated, keeping the k largest gates per token
)

// Mixer initialisations (Config.MixerInit) for the dense mixer.
const (
	InitKaiming    = mixer.InitKaiming    // kaiming-uniform(a=√5), the official MoSLoRA default
	InitOrthogonal = mixer.InitOrthogonal // a random orthogonal matrix (torch.nn.init.orthogonal_)
	InitIdentity   = mixer.InitIdentity   // M = I: starts as plain LoRA
)

// Config is an adapter_config.json: PEFT's LoraConfig names plus the official MoSLoRA flag
// (lora_use_mixer, mixer_init) and our two fields for the mixture mixers (moslora_mixer,
// moslora_subspaces). Fields PEFT writes that do not change the adapter's math are accepted when
// they hold their default (null, false, {}, []); anything else we cannot honour is an error.
type Config struct {
	PeftType string `json:"peft_type"`           // must be "LORA"
	TaskType string `json:"task_type,omitempty"` // informational (e.g. "CAUSAL_LM")

	R             int     `json:"r"`              // rank (default 8)
	LoraAlpha     float64 `json:"lora_alpha"`     // scaling numerator (default 8)
	TargetModules Targets `json:"target_modules"` // which linear layers get an adapter
	LoraDropout   float64 `json:"lora_dropout"`   // dropout probability on the adapter input, [0, 1)
	UseRSLoRA     bool    `json:"use_rslora"`     // s = alpha/√r instead of alpha/r
	FanInFanOut   bool    `json:"fan_in_fan_out"` // base stores W as (in, out) (GPT-2 Conv1D); no effect on A, B
	Bias          string  `json:"bias"`           // only "none" is supported

	ExcludeModules    *Targets           `json:"exclude_modules"`     // modules never adapted (list or regex)
	LayersToTransform []int              `json:"layers_to_transform"` // only these layer indices (nil: all)
	LayersPattern     []string           `json:"layers_pattern"`      // name of the layer list (e.g. "layers", "h")
	RankPattern       map[string]int     `json:"rank_pattern"`        // per-module rank overrides (regex suffixes)
	AlphaPattern      map[string]float64 `json:"alpha_pattern"`       // per-module alpha overrides
	InitLoraWeights   InitWeights        `json:"init_lora_weights"`   // true (B = 0), false (B random too), "gaussian"

	LoraUseMixer bool   `json:"lora_use_mixer,omitempty"`    // official MoSLoRA flag: dense mixer lora_AB
	MixerInit    string `json:"mixer_init,omitempty"`        // kaiming (default), orthogonal, identity
	Mixer        string `json:"moslora_mixer,omitempty"`     // identity, dense, global, gated
	Subspaces    int    `json:"moslora_subspaces,omitempty"` // K: number of blocks of r/K (global, gated)
	TopK         int    `json:"moslora_top_k,omitempty"`     // k of K gates kept per token (gated-topk; 0: mixer.TopKFor)

	BaseModel string `json:"base_model_name_or_path,omitempty"` // the model trained on (folder or hub name), informational
}

// DefaultConfig returns PEFT's defaults: r 8, alpha 8, no dropout, bias "none", B initialised to 0.
func DefaultConfig() Config {
	return Config{PeftType: "LORA", TaskType: "CAUSAL_LM", R: 8, LoraAlpha: 8, Bias: "none",
		InitLoraWeights: InitWeights{Value: "true"}}
}

// MixerKind is the effective mixer's name: Mixer, or the official MoSLoRA mixer (dense) when only
// lora_use_mixer is set, or plain LoRA (identity).
func (c *Config) MixerKind() string {
	switch {
	case c.Mixer != "":
		return c.Mixer
	case c.LoraUseMixer:
		return mixer.Official().Name
	}
	return mixer.Plain().Name
}

// InitWeights is PEFT's init_lora_weights: a bool or the name of an initialisation.
// Value is "true", "false" or the name ("gaussian").
type InitWeights struct{ Value string }

// MarshalJSON writes true/false as a bool and names as a string.
func (w InitWeights) MarshalJSON() ([]byte, error) {
	switch w.Value {
	case "", "true":
		return []byte("true"), nil
	case "false":
		return []byte("false"), nil
	}
	return json.Marshal(w.Value)
}

// UnmarshalJSON reads a bool or a string.
func (w *InitWeights) UnmarshalJSON(b []byte) error {
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		w.Value = strconv.FormatBool(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a bool or a string, got %s", b)
	}
	w.Value = s
	return nil
}

// ignoredFields are PEFT fields that never change the adapter's math: any value is accepted.
var ignoredFields = map[string]bool{
	"revision": true, "inference_mode": true, "peft_version": true,
	"auto_mapping": true, "qalora_group_size": true, "megatron_core": true, "ensure_weight_tying": true,
}

// ReadConfig reads and validates an adapter_config.json.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("adapter: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("adapter: %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes an adapter config. Known fields are checked for type; unknown fields must
// hold a default value (null, false, 0, "", {} or []), otherwise the error names the field.
func ParseConfig(b []byte) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Config{}, fmt.Errorf("not a JSON object: %s", jsonerr.Describe(err))
	}
	c := DefaultConfig()
	c.TaskType = ""
	known := jsonFieldNames()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		if ignoredFields[k] {
			continue
		}
		if !known[k] {
			if !isDefaultJSON(v) {
				return Config{}, fmt.Errorf("field %q = %s is not supported (only its default value is accepted)", k, v)
			}
			continue
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue // PEFT writes null for "not set": keep our default
		}
		if err := decodeField(&c, k, v); err != nil {
			return Config{}, fmt.Errorf("field %q: %w", k, err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decodeField decodes one known field, accepting PEFT's alternative forms (an int for
// layers_to_transform, a string for layers_pattern).
func decodeField(c *Config, k string, v json.RawMessage) error {
	switch k {
	case "layers_to_transform":
		var one int
		if err := json.Unmarshal(v, &one); err == nil {
			c.LayersToTransform = []int{one}
			return nil
		}
	case "layers_pattern":
		var one string
		if err := json.Unmarshal(v, &one); err == nil {
			c.LayersPattern = []string{one}
			return nil
		}
	}
	// Decode {"k": v} into the struct so the field's own type and decoder apply.
	obj, _ := json.Marshal(map[string]json.RawMessage{k: v})
	dec := json.NewDecoder(bytes.NewReader(obj))
	if err := dec.Decode(c); err != nil {
		return errors.New(jsonerr.Describe(err))
	}
	return nil
}

// jsonFieldNames lists the JSON names of Config's fields.
func jsonFieldNames() map[string]bool {
	return map[string]bool{
		"peft_type": true, "task_type": true, "r": true, "lora_alpha": true, "target_modules": true,
		"lora_dropout": true, "use_rslora": true, "fan_in_fan_out": true, "bias": true,
		"exclude_modules": true, "layers_to_transform": true, "layers_pattern": true,
		"rank_pattern": true, "alpha_pattern": true, "init_lora_weights": true,
		"lora_use_mixer": true, "mixer_init": true, "moslora_mixer": true, "moslora_subspaces": true,
		"moslora_top_k":           true,
		"base_model_name_or_path": true,
	}
}

// isDefaultJSON reports whether v is null, false, 0, "", {} or [].
func isDefaultJSON(v json.RawMessage) bool {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return false
	}
	switch t := x.(type) {
	case nil:
		return true
	case bool:
		return !t
	case float64:
		return t == 0
	case string:
		return t == ""
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// Validate checks the settings for values we cannot honour or that contradict each other; the
// error names the field. It normalises one thing: a dense mixer sets lora_use_mixer, the flag the
// official MoSLoRA code needs to build lora_AB.
func (c *Config) Validate() error {
	if c.PeftType != "LORA" {
		return fmt.Errorf("field \"peft_type\": want \"LORA\", got %q", c.PeftType)
	}
	if c.R <= 0 {
		return fmt.Errorf("field \"r\": want a positive rank, got %d", c.R)
	}
	if math.IsNaN(c.LoraAlpha) || math.IsInf(c.LoraAlpha, 0) {
		return fmt.Errorf("field \"lora_alpha\": want a finite number, got %v", c.LoraAlpha)
	}
	if !(c.LoraDropout >= 0 && c.LoraDropout < 1) {
		return fmt.Errorf("field \"lora_dropout\": want a probability in [0, 1), got %v", c.LoraDropout)
	}
	if c.Bias != "none" {
		return fmt.Errorf("field \"bias\": only \"none\" is supported (bias terms are not trained), got %q", c.Bias)
	}
	if c.TargetModules.IsRegex {
		if c.TargetModules.Regex != "all-linear" {
			if _, err := regexp.Compile("^(?:" + c.TargetModules.Regex + ")$"); err != nil {
				return fmt.Errorf("field \"target_modules\": bad regex: %w", err)
			}
		}
	} else if len(c.TargetModules.List) == 0 {
		return fmt.Errorf("field \"target_modules\": want at least one module name or a regex")
	}
	if c.ExcludeModules != nil && c.ExcludeModules.IsRegex {
		if _, err := regexp.Compile("^(?:" + c.ExcludeModules.Regex + ")$"); err != nil {
			return fmt.Errorf("field \"exclude_modules\": bad regex: %w", err)
		}
	}
	for k, r := range c.RankPattern {
		if r <= 0 {
			return fmt.Errorf("field \"rank_pattern\": rank for %q must be positive, got %d", k, r)
		}
		if _, err := patternRegexp(k); err != nil {
			return fmt.Errorf("field \"rank_pattern\": bad pattern %q: %w", k, err)
		}
	}
	for k := range c.AlphaPattern {
		if _, err := patternRegexp(k); err != nil {
			return fmt.Errorf("field \"alpha_pattern\": bad pattern %q: %w", k, err)
		}
	}
	switch c.InitLoraWeights.Value {
	case "", "true", "false", "gaussian":
	default:
		return fmt.Errorf("field \"init_lora_weights\": %q is not supported (want true, false or \"gaussian\")", c.InitLoraWeights.Value)
	}
	name := c.MixerKind()
	kind, ok := mixer.Lookup(name)
	if !ok {
		return fmt.Errorf("field \"moslora_mixer\": want %s, got %q", mixer.Names(), c.Mixer)
	}
	if c.LoraUseMixer && !kind.Official {
		return fmt.Errorf("field \"moslora_mixer\": %q contradicts \"lora_use_mixer\": true (the official flag means a %s mixer)", c.Mixer, mixer.Official().Name)
	}
	if kind.Official && !c.LoraUseMixer {
		c.LoraUseMixer = true // the official code needs the flag to build lora_AB
	}
	// The mixer validates its own fields (mixer_init, moslora_subspaces, moslora_top_k) for every rank in use.
	ranks := []int{c.R}
	for _, r := range c.RankPattern {
		ranks = append(ranks, r)
	}
	sort.Ints(ranks)
	for _, r := range ranks {
		if err := mixer.Check(name, mixer.Shape{R: r, In: 1, K: c.Subspaces, TopK: c.TopK, Init: c.MixerInit}); err != nil {
			return err
		}
	}
	return nil
}

// Scaling is s = alpha/r, or alpha/√r with use_rslora.
func (c *Config) Scaling(r int, alpha float64) float32 {
	if c.UseRSLoRA {
		return float32(alpha / math.Sqrt(float64(r)))
	}
	return float32(alpha / float64(r))
}
