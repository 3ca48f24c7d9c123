package adapter

import (
	"fmt"
	"slices"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/model"
)

// Base is what an adapter attaches to: the model's linear layers by module path. *model.Model
// satisfies it.
type Base interface {
	Linears() []*model.Linear
}

// Adapter is a set of Linears attached to a model's linear layers (as their Delta).
type Adapter struct {
	Config  Config
	Linears []*Linear       // in the model's order
	bases   []*model.Linear // the base layer of each Linear
	merged  bool            // ΔW is in the base weights and the Linears are detached
}

// Param is one adapter tensor: Key is its name in adapter_model.safetensors, W and G alias the
// Linear's parameter and gradient (G nil: frozen, not trained). Group names the tensor's role for
// per-group optimizer settings (LoRA+-style learning rates): GroupA, GroupB or GroupMixer.
// Train, when not nil, lists the only entries that train (an extended adapter's new part,
// extend.go); the others are frozen: no gradient step, no weight decay.
type Param struct {
	Key   string
	W, G  []float32
	Shape []int
	Group string
	Train []Span
}

// Parameter groups (Param.Group).
const (
	GroupA     = "lora_A"
	GroupB     = "lora_B"
	GroupMixer = "mixer"
)

// keyPrefix is PEFT's prefix on every adapter tensor name.
const keyPrefix = "base_model.model."

// New creates an adapter for cfg on the model's selected linear layers and attaches it.
// Initialisation is deterministic in seed: A kaiming-uniform(a=√5), B zero (init_lora_weights
// true), then the mixer's own (Mixer.Init: the dense mixer by mixer_init, π = 0, G = 0, c = 0).
func New(cfg Config, m Base, seed int64) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	a, err := build(cfg, m, seed)
	if err != nil {
		return nil, err
	}
	for _, l := range a.Linears {
		a.initLinear(l, seed)
	}
	a.attach()
	return a, nil
}

// build selects the target layers and allocates zeroed Linears (not attached).
func build(cfg Config, m Base, seed int64) (*Adapter, error) {
	lins := m.Linears()
	paths := make([]string, len(lins))
	byPath := make(map[string]*model.Linear, len(lins))
	for i, l := range lins {
		paths[i] = l.Path
		byPath[l.Path] = l
	}
	sel, err := cfg.selectPaths(paths)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	a := &Adapter{Config: cfg}
	a.Config.FanInFanOut = false // PEFT's own correction: true exactly when the targets are Conv1D
	name := cfg.MixerKind()
	kind, _ := mixer.Lookup(name) // known: cfg is validated
	for _, p := range sel {
		base := byPath[p]
		if base.Delta != nil {
			return nil, fmt.Errorf("adapter: module %s already has an adapter attached", p)
		}
		if base.Conv1D {
			a.Config.FanInFanOut = true
		}
		r, alpha := cfg.RankAlpha(p)
		k := 1
		if kind.Subspaces {
			k = cfg.Subspaces
		}
		mx, err := mixer.New(name, mixer.Shape{R: r, In: base.In, K: cfg.Subspaces, TopK: cfg.TopK, Init: cfg.MixerInit})
		if err != nil {
			return nil, fmt.Errorf("adapter: %s: %w", p, err)
		}
		l := newLinear(p, base.In, base.Out, r, k, mx, cfg.Scaling(r, alpha), float32(cfg.LoraDropout))
		l.rng = newRNG(seed, "dropout", p)
		a.Linears = append(a.Linears, l)
		a.bases = append(a.bases, base)
	}
	return a, nil
}

// initLinear draws the initial parameters of l.
func (a *Adapter) initLinear(l *Linear, seed int64) {
	rng := newRNG(seed, "init", l.Path)
	if a.Config.InitLoraWeights.Value == "gaussian" {
		mixer.Gaussian(l.A, 1/float64(l.R), rng) // PEFT: A ~ N(0, 1/r²), B = 0
	} else {
		mixer.KaimingUniform(l.A, l.In, rng)
	}
	if a.Config.InitLoraWeights.Value == "false" {
		mixer.KaimingUniform(l.B, l.R, rng) // PEFT leaves nn.Linear's default init on B too
	}
	l.Mixer.Init(rng) // the mixer draws after A and B, from the same generator
	if f, ok := l.Mixer.(mixer.AFolder); ok {
		f.FoldIntoA(l.A, l.In) // e.g. the folded control: A' = M·A
	}
}

// attach sets each Linear as its base layer's Delta.
func (a *Adapter) attach() {
	for i, l := range a.Linears {
		a.bases[i].Delta = l
	}
}

// Detach removes the adapter from the model (the base layers get a nil Delta). The model then
// computes the base outputs; the adapter keeps its parameters.
func (a *Adapter) Detach() {
	for i, l := range a.Linears {
		if a.bases[i].Delta == model.Delta(l) {
			a.bases[i].Delta = nil
		}
	}
}

// Attach re-attaches a detached adapter (an error when merged or when a layer holds another Delta).
func (a *Adapter) Attach() error {
	if a.merged {
		return fmt.Errorf("adapter: cannot attach a merged adapter; Unmerge it first")
	}
	for i, l := range a.Linears {
		if d := a.bases[i].Delta; d != nil && d != model.Delta(l) {
			return fmt.Errorf("adapter: module %s already has another adapter attached", l.Path)
		}
	}
	a.attach()
	return nil
}

// Params lists every adapter tensor with its file key, in the model's order (per module: A,
// mixer tensors, B).
func (a *Adapter) Params() []Param {
	var ps []Param
	for _, l := range a.Linears {
		ps = append(ps, l.params()...)
	}
	return ps
}

// NumParams is the number of trainable adapter parameters.
func (a *Adapter) NumParams() int {
	n := 0
	for _, p := range a.Params() {
		n += len(p.W)
	}
	return n
}

// ZeroGrad clears every adapter gradient.
func (a *Adapter) ZeroGrad() {
	for _, l := range a.Linears {
		l.ZeroGrad()
	}
}

// SetTraining turns lora dropout on (true) or off for every Linear.
func (a *Adapter) SetTraining(on bool) {
	for _, l := range a.Linears {
		l.SetTraining(on)
	}
}

// DeltaFor is the adapter's update on the base layer l — nil where it has none, and everywhere
// once merged (the update is then in the weights) — so that an adapter loaded detached
// (LoadDetached) runs as data beside the model: it implements model.Deltas.
func (a *Adapter) DeltaFor(l *model.Linear) model.Delta {
	if a.merged {
		return nil
	}
	if i := slices.Index(a.bases, l); i >= 0 {
		return a.Linears[i]
	}
	return nil
}

// Merged reports whether the adapter is merged into the base weights.
func (a *Adapter) Merged() bool { return a.merged }
