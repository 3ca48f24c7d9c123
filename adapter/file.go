package adapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/atomicfile"
	"github.com/moslora/moslora/safetensors"
)

// File names inside an adapter directory (PEFT's).
const (
	ConfigFile  = "adapter_config.json"
	WeightsFile = "adapter_model.safetensors"
)

// Load reads an adapter directory (adapter_config.json + adapter_model.safetensors, as PEFT or the
// official MoSLoRA code writes it, or as Save writes it) and attaches it to the model. Loading is
// strict: every tensor the config implies must be present with its exact shape, and the file may
// hold nothing else; errors name the file and the key.
func Load(dir string, m Base) (*Adapter, error) {
	a, err := LoadDetached(dir, m)
	if err != nil {
		return nil, err
	}
	a.attach()
	return a, nil
}

// LoadDetached reads an adapter directory as Load does but attaches nothing: the model's layers
// are only read, never written, and the adapter is held as data beside the model (DeltaFor, a
// model.Deltas) — how a server runs many adapters on one shared model (model.Batcher).
func LoadDetached(dir string, m Base) (*Adapter, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	cfg, err := ReadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	a, err := build(cfg, m, 0)
	if err != nil {
		return nil, fmt.Errorf("%w (config %s)", err, cfgPath)
	}
	wPath := filepath.Join(dir, WeightsFile)
	f, err := safetensors.Open(wPath)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, p := range a.Params() {
		want[p.Key] = true
		info := f.Info(p.Key)
		if info == nil {
			return nil, fmt.Errorf("adapter: %s: missing tensor %q (shape %v) required by %s", wPath, p.Key, p.Shape, cfgPath)
		}
		if !slices.Equal(info.Shape, p.Shape) {
			return nil, fmt.Errorf("adapter: %s: tensor %q has shape %v, want %v", wPath, p.Key, info.Shape, p.Shape)
		}
		v, _, err := f.Float32(p.Key)
		if err != nil {
			return nil, fmt.Errorf("adapter: %w", err)
		}
		copy(p.W, v)
	}
	for _, name := range f.Names() {
		if !want[name] {
			return nil, fmt.Errorf("adapter: %s: unexpected tensor %q (not implied by %s: r, target_modules, mixer)", wPath, name, cfgPath)
		}
	}
	return a, nil
}

// Save writes the adapter to dir (created if needed) in PEFT's format: adapter_config.json and
// adapter_model.safetensors (float32, metadata {"format": "pt"}), each written to a temporary
// file and renamed into place. A dense mixer is saved unfolded as lora_AB.weight with
// "lora_use_mixer": true, the form the official MoSLoRA code loads; call Fold first for a plain
// LoRA adapter that stock PEFT, vLLM and llama.cpp accept. A merged adapter saves its (unchanged)
// adapter tensors, not the merged base.
func (a *Adapter) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	var ts []safetensors.Tensor
	for _, p := range a.Params() {
		if i := nonFinite(p.W); i >= 0 {
			return fmt.Errorf("adapter: not saving %s: tensor %q holds %v at %d", dir, p.Key, p.W[i], i)
		}
		ts = append(ts, safetensors.FromFloat32(p.Key, p.Shape, p.W))
	}
	cfg, err := a.Config.configJSON()
	if err != nil {
		return fmt.Errorf("adapter: encoding %s: %w", ConfigFile, err)
	}
	wPath := filepath.Join(dir, WeightsFile)
	if err := safetensors.WriteFile(wPath, ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("adapter: writing %s: %w", wPath, err)
	}
	cPath := filepath.Join(dir, ConfigFile)
	if err := atomicfile.WriteFile(cPath, cfg, 0o644); err != nil {
		return fmt.Errorf("adapter: writing %s: %w", cPath, err)
	}
	return nil
}

// SetSeed reseeds the dropout masks of every Linear (Load starts them from seed 0).
func (a *Adapter) SetSeed(seed int64) {
	for _, l := range a.Linears {
		l.rng = newRNG(seed, "dropout", l.Path)
	}
}

// configJSON renders the config as PEFT writes it: empty maps as {} (PEFT calls .keys() on them),
// the official MoSLoRA flag for the official (dense) mixer, the mixer's own fields (name, K,
// mixer_init) only where its row in the mixer table says it has them.
func (c Config) configJSON() ([]byte, error) {
	if c.RankPattern == nil {
		c.RankPattern = map[string]int{}
	}
	if c.AlphaPattern == nil {
		c.AlphaPattern = map[string]float64{}
	}
	if c.TaskType == "" {
		c.TaskType = "CAUSAL_LM" // every model we load is a causal LM; PEFT picks its model class by it
	}
	kind, _ := mixer.Lookup(c.MixerKind()) // known: the config was validated
	if kind.Official {
		c.LoraUseMixer, c.Mixer = true, "" // the official form
	}
	if kind.Plain {
		c.Mixer = ""
	}
	if len(kind.Inits) == 0 {
		c.MixerInit = ""
	} else if c.MixerInit == "" {
		c.MixerInit = kind.Inits[0]
	}
	if !kind.Subspaces {
		c.Subspaces = 0 // K only shapes the mixers that split the rank
	}
	if !kind.TopK {
		c.TopK = 0
	} else {
		c.TopK = mixer.TopKFor(c.TopK, c.Subspaces) // written, so a later default cannot change a saved adapter
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
