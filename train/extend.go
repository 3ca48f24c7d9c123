package train

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/setting"
	"github.com/moslora/moslora/kernels"
)

// Continual learning: a run may start from an existing adapter (setting "extend", a folder) in one
// of two ways, chosen by "extend-rank":
//
//	extend-rank N > 0   append N latent dimensions (new subspaces) and train only them; the old
//	                    A rows, B columns and mixer block stay bit-identical (adapter.Extend)
//	extend-rank 0       train the loaded adapter's own tensors, all of them (sequential
//	                    fine-tuning, the catastrophic-forgetting baseline)
//
// The run's method, rank, alpha, targets, subspaces and mixer_init are then the extended
// adapter's, and Config.Extend records the source, so train_config.json says what the run
// started from and a resume refuses a changed source.

// ExtendSource is what an extending run started from (Config.Extend).
type ExtendSource struct {
	Dir     string  `json:"dir"`            // the adapter folder (absolute)
	Rank    int     `json:"rank"`           // its r: the frozen latent dimensions when NewRank > 0
	Alpha   float64 `json:"alpha"`          // its lora_alpha
	NewRank int     `json:"new_rank"`       // latent dimensions added (0: the adapter itself trains)
	Weights string  `json:"weights_fnv64a"` // FNV-64a of its adapter_model.safetensors
}

// PrepareExtend loads the adapter folder dir (detached) for a run on m that extends it by newRank
// latent dimensions (newRank < 0: by its own rank r; 0: no new dimensions, its tensors train),
// and returns cfg with the method, rank, alpha, targets, subspaces and mixer_init of the extended
// adapter and Extend set, plus the loaded adapter for Job.Extend. Errors name the setting
// "extend" and say what was expected: a missing folder, a folder without an adapter, an adapter
// that does not fit m (another base model), a mixer that cannot be extended.
func PrepareExtend(cfg Config, dir string, newRank int, m adapter.Base) (Config, *adapter.Adapter, error) {
	if cfg.Method == MethodFull {
		return cfg, nil, setting.Errorf("train", "extend", dir, ": extends an adapter; method %s trains no adapter", MethodFull)
	}
	if cfg.MatchParams != "" {
		return cfg, nil, setting.Errorf("train", "match-params", cfg.MatchParams, ": the rank of an extending run is the extended adapter's; leave it out with %s", setting.Ref("extend"))
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return cfg, nil, setting.Errorf("train", "extend", dir, ": no such folder; expected an adapter folder (%s and %s, as train or PEFT writes it)", adapter.ConfigFile, adapter.WeightsFile)
	}
	if _, err := os.Stat(filepath.Join(dir, adapter.ConfigFile)); err != nil {
		return cfg, nil, setting.Errorf("train", "extend", dir, ": holds no %s; expected an adapter folder (the output of train with an adapter method, not a fully fine-tuned model)", adapter.ConfigFile)
	}
	old, err := adapter.LoadDetached(dir, m)
	if err != nil {
		oc, _ := adapter.ReadConfig(filepath.Join(dir, adapter.ConfigFile))
		return cfg, nil, setting.Wrap(err, "train", "extend", dir, ": the adapter does not fit this model (trained on another base model? its %s names %q): %v", adapter.ConfigFile, oc.BaseModel, err)
	}
	oc := old.Config
	kind, _ := mixer.Lookup(oc.MixerKind()) // known: LoadDetached validated the config
	if newRank < 0 {
		newRank = oc.R
	}
	if newRank > 0 {
		if err := old.Extendable(); err != nil {
			return cfg, nil, setting.Wrap(err, "train", "extend", dir, ": method %s cannot be extended by new subspaces (%v); supported: the methods whose mixer is a fixed map of the latent space (lora, moslora, moslora-folded); %s 0 trains the adapter itself instead", kind.Method, errors.Unwrap(err), setting.Ref("extend-rank"))
		}
	}
	ext, err := adapter.ExtendConfig(oc, newRank)
	if err != nil {
		return cfg, nil, setting.Wrap(err, "train", "extend", dir, ": %v", err)
	}
	sum, err := fileDigest(filepath.Join(dir, adapter.WeightsFile))
	if err != nil {
		return cfg, nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return cfg, nil, fmt.Errorf("train: %w", err)
	}
	cfg.Method, cfg.Rank, cfg.Alpha = kind.Method, ext.R, ext.LoraAlpha
	cfg.Targets = ext.TargetModules.List
	if ext.TargetModules.IsRegex {
		cfg.Targets = []string{ext.TargetModules.Regex}
	}
	cfg.MixerInit, cfg.Subspaces = "", max(1, ext.Subspaces)
	if len(kind.Inits) > 0 {
		cfg.MixerInit = ext.MixerInit
	}
	cfg.Extend = &ExtendSource{Dir: abs, Rank: oc.R, Alpha: oc.LoraAlpha, NewRank: newRank, Weights: sum}
	return cfg, old, nil
}

// fileDigest is the FNV-64a hash of a file's bytes, in hex.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	h := fnv.New64a()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("train: reading %s: %w", path, err)
	}
	return fmt.Sprintf("%016x", h.Sum64()), nil
}

// newAdapter draws the adapter the run starts from: the extension of Job.Extend for a run with
// Config.Extend, else the fresh adapter of cfg.
func (job *Job) newAdapter(cfg Config) (*adapter.Adapter, error) {
	if cfg.Extend == nil {
		return cfg.NewAdapter(job.Model)
	}
	if job.Extend == nil {
		return nil, fmt.Errorf("train: the run extends %s but the job holds no loaded adapter (PrepareExtend)", cfg.Extend.Dir)
	}
	a, err := adapter.Extend(job.Extend, job.Model, cfg.Extend.NewRank, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if a.Config.R != cfg.Rank || a.Config.LoraAlpha != cfg.Alpha {
		a.Detach()
		return nil, fmt.Errorf("train: the extended adapter has r %d, lora_alpha %v; the run's settings say rank %d, alpha %v", a.Config.R, a.Config.LoraAlpha, cfg.Rank, cfg.Alpha)
	}
	return a, nil
}

// maskGrad zeroes the gradient outside p's trainable spans, so that frozen entries count in no
// gradient norm and get no moment.
func (p *trainable) maskGrad() {
	if p.spans == nil {
		return
	}
	at := 0
	for _, s := range p.spans {
		clear(p.g[at:s.Lo])
		at = s.Hi
	}
	clear(p.g[at:])
}

// step applies one AdamW update to p's trainable spans (all of p when it has none): each span is
// updated by the same kernel as a whole tensor, at the tensor's step count, so entries outside the
// spans keep their value (no weight decay either) and their moments, and the entries inside get
// exactly the update an unmasked step would give them.
func (p *trainable) step(c kernels.AdamWConfig) {
	if p.spans == nil {
		kernels.AdamWStep(p.w, p.g, p.opt, c)
		return
	}
	n := p.opt.Step
	for _, s := range p.spans {
		sub := kernels.AdamWState{M: p.opt.M[s.Lo:s.Hi], V: p.opt.V[s.Lo:s.Hi], Step: n}
		kernels.AdamWStep(p.w[s.Lo:s.Hi], p.g[s.Lo:s.Hi], &sub, c)
	}
	p.opt.Step = n + 1
}
