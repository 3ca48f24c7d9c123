package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/model"
)

// Training methods: full fine-tuning, or an adapter whose mixer the method selects (the rows of
// the mixer table, package adapter/mixer; the names below are the built-in rows').
const (
	MethodLoRA      = "lora"       // identity mixer
	MethodMoSLoRA   = "moslora"    // dense r×r mixer (lora_AB)
	MethodGlobal    = "global"     // softmax(π) block weights
	MethodGated     = "gated"      // input-dependent block gates
	MethodGatedTopK = "gated-topk" // gated, keeping the top_k largest gates per token (MixLoRA)
	MethodFull      = "full"       // every base parameter, no adapter
)

// Methods lists the methods ("lora, moslora, global, gated or full"), for messages and help.
func Methods() string {
	var ms []string
	for _, k := range mixer.Kinds() {
		ms = append(ms, k.Method)
	}
	return strings.Join(ms, ", ") + " or " + MethodFull
}

// Config holds the settings that determine a training run's result. A resumed run must use the
// same Config (checked against the checkpoint).
type Config struct {
	Method    string  `json:"method"`
	Rank      int     `json:"rank"`
	Alpha     float64 `json:"alpha"`
	Subspaces int     `json:"subspaces"` // K for global / gated (and recorded for moslora)
	// TopK is k, the subspaces each token keeps, for gated-topk (0: mixer.DefaultTopK = 2, or
	// K when K is smaller; see Canonical).
	TopK      int      `json:"top_k,omitempty"`
	Targets   []string `json:"targets"` // short names q,k,v,o,gate,up,down or module names
	MixerInit string   `json:"mixer_init,omitempty"`

	LR          float64 `json:"lr"`
	Epochs      int     `json:"epochs"` // used when Steps == 0
	Steps       int     `json:"steps"`  // optimizer updates; > 0 overrides Epochs
	Batch       int     `json:"batch"`  // sequences per micro-batch
	GradAccum   int     `json:"grad_accum"`
	Warmup      int     `json:"warmup"` // warm-up updates
	Schedule    string  `json:"schedule"`
	Clip        float64 `json:"clip"` // max global grad norm (≤ 0: no clipping)
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	Seed        int64   `json:"seed"`
	MaxLen      int     `json:"max_len"`
	Pack        bool    `json:"pack"`

	// Per-group learning rates (LoRA+, Hayou et al. 2024): B's and the mixer's learning rate is
	// lr times these (0 means 1: the same rate, and the field is not written).
	LRRatioB     float64 `json:"lr_ratio_b,omitempty"`
	LRRatioMixer float64 `json:"lr_ratio_mixer,omitempty"`
	// MixerWarmup: the first N updates train only the mixer's tensors (A and B, and their AdamW
	// moments, stay as initialised; their AdamW step count starts after the warm-up).
	MixerWarmup int `json:"mixer_warmup,omitempty"`
	// MatchParams names another adapter method: the run's rank is then the one at which this
	// method's trainable parameter count is nearest that method's at Rank (equal-parameter
	// LoRA: method lora, match_params moslora). Resolved on the model (ResolveRank).
	MatchParams string `json:"match_params,omitempty"`
	// Extend: the run starts from an existing adapter (extend.go, PrepareExtend); Method, Rank,
	// Alpha, Targets, Subspaces and MixerInit are then the extended adapter's.
	Extend *ExtendSource `json:"extend,omitempty"`
	// Compute is the arithmetic of the products with the frozen base and of attention's products
	// (model.ParseCompute): f32
	// (canonically "", not written) or bf16 (bf16 inputs, float32 accumulation).
	Compute string `json:"compute,omitempty"`
}

// DefaultConfig is the quality-parity protocol of the project (DESIGN/issue 5): MoSLoRA on all
// seven projections, r 16, alpha 32, AdamW 1e-3, batch 16, 1 epoch, warmup 30, cosine, clip 1.
func DefaultConfig() Config {
	return Config{
		Method: MethodMoSLoRA, Rank: 16, Alpha: 32, Subspaces: 1,
		Targets: []string{"q", "k", "v", "o", "gate", "up", "down"},
		LR:      1e-3, Epochs: 1, Batch: 16, GradAccum: 1, Warmup: 30, Schedule: ScheduleCosine,
		Clip: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Seed: 0, MaxLen: 256,
	}
}

// shortTargets maps the CLI's short names to Llama-family module names.
var shortTargets = map[string]string{
	"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj",
	"gate": "gate_proj", "up": "up_proj", "down": "down_proj",
}

// ModuleNames expands short target names (q → q_proj, …); other names pass through unchanged.
func ModuleNames(targets []string) []string {
	out := make([]string, 0, len(targets))
	for _, t := range targets {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if m, ok := shortTargets[t]; ok {
			t = m
		}
		out = append(out, t)
	}
	return out
}

// Validate checks user-supplied values; errors name the setting (its JSON name in train_config.json).
func (c *Config) Validate() error {
	if _, ok := mixer.ByMethod(c.Method); !ok && c.Method != MethodFull {
		return fmt.Errorf("train: method %q: expected %s", c.Method, Methods())
	}
	if err := checkSchedule(c.Schedule); err != nil {
		return err
	}
	if err := c.validateRanges(); err != nil { // range errors first (validate.go: *setting.Error, shown as flags by the CLI)
		return err
	}
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("train: %s %v: expected a positive number", name, v)
		}
		return nil
	}
	if err := pos("lr", c.LR); err != nil {
		return err
	}
	if c.Steps <= 0 && c.Epochs <= 0 {
		return fmt.Errorf("train: need epochs ≥ 1 or steps ≥ 1")
	}
	if c.Batch < 1 || c.GradAccum < 1 {
		return fmt.Errorf("train: batch %d and grad_accum %d must be ≥ 1", c.Batch, c.GradAccum)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("train: warmup %d must be ≥ 0", c.Warmup)
	}
	if c.WeightDecay < 0 || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || !(c.Eps > 0) {
		return fmt.Errorf("train: bad AdamW settings (weight decay %v ≥ 0, betas %v, %v in [0, 1), eps %v > 0)", c.WeightDecay, c.Beta1, c.Beta2, c.Eps)
	}
	if c.MaxLen < 2 {
		return fmt.Errorf("train: max_len %d must be ≥ 2", c.MaxLen)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"lr_ratio_b", c.LRRatioB}, {"lr_ratio_mixer", c.LRRatioMixer}} {
		if r.v < 0 || math.IsNaN(r.v) || math.IsInf(r.v, 0) {
			return fmt.Errorf("train: %s %v: expected a positive multiplier of lr", r.name, r.v)
		}
	}
	if c.MatchParams != "" {
		if _, ok := mixer.ByMethod(c.MatchParams); !ok || c.Method == MethodFull {
			return fmt.Errorf("train: match_params %q: expected an adapter method (%s) and an adapter method to train, got method %s", c.MatchParams, mixer.Methods(), c.Method)
		}
	}
	if c.MixerWarmup < 0 {
		return fmt.Errorf("train: mixer_warmup %d must be ≥ 0", c.MixerWarmup)
	}
	if c.Method == MethodFull && (c.LRRatioB != 0 && c.LRRatioB != 1 || c.LRRatioMixer != 0 && c.LRRatioMixer != 1 || c.MixerWarmup > 0) {
		return fmt.Errorf("train: lr_ratio_b, lr_ratio_mixer and mixer_warmup apply to adapters, not method %s", MethodFull)
	}
	if c.Method != MethodFull {
		if c.Rank < 1 {
			return fmt.Errorf("train: rank %d must be ≥ 1", c.Rank)
		}
		if len(ModuleNames(c.Targets)) == 0 {
			return fmt.Errorf("train: targets is empty")
		}
		ac := c.AdapterConfig()
		if err := ac.Validate(); err != nil { // the mixer checks its own settings (K, init)
			return fmt.Errorf("train: method %s: %w", c.Method, err)
		}
	}
	return nil
}

// AdapterConfig is the adapter configuration the method implies.
func (c *Config) AdapterConfig() adapter.Config {
	ac := adapter.DefaultConfig()
	ac.R, ac.LoraAlpha = c.Rank, c.Alpha
	ac.TargetModules = adapter.Targets{List: ModuleNames(c.Targets)}
	if len(ac.TargetModules.List) == 1 && ac.TargetModules.List[0] == "all-linear" {
		ac.TargetModules = adapter.Targets{Regex: "all-linear", IsRegex: true} // PEFT's special value
	}
	kind, _ := mixer.ByMethod(c.Method)
	ac.Mixer, ac.LoraUseMixer = kind.Name, kind.Official
	if len(kind.Inits) > 0 {
		ac.MixerInit = c.MixerInit
	}
	if kind.Subspaces {
		ac.Subspaces = c.Subspaces
	}
	if kind.TopK {
		ac.TopK = c.TopK
	}
	return ac
}

// NewAdapter draws the untrained adapter a run of c starts from (its initialisation depends on
// c.Seed only), attached to m.
func (c *Config) NewAdapter(m adapter.Base) (*adapter.Adapter, error) {
	return adapter.New(c.AdapterConfig(), m, c.Seed)
}

// Canonical returns c with the per-group ratios of 1 written as 0 and compute f32 as "" (the same
// run, and the train_config.json / checkpoint form of runs from before these settings existed),
// and top_k only for a method it shapes (there 0 becomes the k it means).
func (c Config) Canonical() Config {
	if kind, ok := mixer.ByMethod(c.Method); !ok || !kind.TopK {
		c.TopK = 0
	} else {
		c.TopK = mixer.TopKFor(c.TopK, c.Subspaces)
	}
	if cp, err := model.ParseCompute(c.Compute); err == nil {
		c.Compute = string(cp)
		if cp == model.ComputeF32 {
			c.Compute = ""
		}
	}
	if c.LRRatioB == 1 {
		c.LRRatioB = 0
	}
	if c.LRRatioMixer == 1 {
		c.LRRatioMixer = 0
	}
	return c
}

// lrRatio is the multiplier of lr for a parameter group (adapter.Param.Group): LoRA+'s ratios
// for B and the mixer, 1 otherwise.
func (c *Config) lrRatio(group string) float64 {
	r := 0.0
	switch group {
	case adapter.GroupB:
		r = c.LRRatioB
	case adapter.GroupMixer:
		r = c.LRRatioMixer
	}
	if r == 0 {
		return 1
	}
	return r
}

// checkGroups refuses a mixer warm-up when the method has no trainable mixer tensor (it would
// train nothing for N updates). A mixer ratio without a mixer changes nothing and is accepted
// (a sweep may apply it to every method).
func checkGroups(c Config, ps []*trainable) error {
	if c.MixerWarmup == 0 {
		return nil
	}
	for _, p := range ps {
		if p.group == adapter.GroupMixer {
			return nil
		}
	}
	return fmt.Errorf("train: mixer_warmup %d: method %s has no trainable mixer tensor to warm up", c.MixerWarmup, c.Method)
}

// zeroB reports whether every B tensor is zero (PEFT's initialisation).
func zeroB(ps []*trainable) bool {
	for _, p := range ps {
		if p.group != adapter.GroupB {
			continue
		}
		for _, v := range p.w {
			if v != 0 {
				return false
			}
		}
	}
	return true
}

// updatesOf is how many AdamW updates parameter p has had after step updates of the run (the
// mixer-only warm-up skips A and B).
func updatesOf(p *trainable, step int, c Config) int {
	if p.group == adapter.GroupMixer || p.group == "" {
		return step
	}
	return max(0, step-c.MixerWarmup)
}

// DefaultLR is the protocol's learning rate for a method: 3e-4 for full fine-tuning, else 1e-3.
func DefaultLR(method string) float64 {
	if method == MethodFull {
		return 3e-4
	}
	return 1e-3
}
