package bench

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moslora/moslora/model"
)

// presetFiles holds the config.json of each named preset: the shape fields of the public
// Hugging Face config of the model it names (the "_source" key says which; ParseConfig ignores
// it), so `bench --preset` measures a real model's shape with random weights, no download.
//
//go:embed presets/*.json
var presetFiles embed.FS

// Presets lists the named presets, smallest first.
var Presets = []string{"smollm2-135m", "qwen2.5-0.5b", "llama-3.2-1b", "qwen2.5-1.5b", "mistral-7b", "qwen2.5-7b"}

// ConfigModel is the model of the --config / --preset cases: a config.json with random weights.
type ConfigModel struct {
	Name   string // case prefix: the preset's name, or the config file's base name without .json
	From   string // where the config came from, for messages: "preset llama-3.2-1b" or the file path
	Config *model.Config
}

// PresetConfig returns the embedded config.json bytes of a preset.
func PresetConfig(name string) ([]byte, error) {
	if !slices.Contains(Presets, name) {
		return nil, fmt.Errorf("bench: --preset %q is not a preset (want one of %s)", name, strings.Join(Presets, ", "))
	}
	return presetFiles.ReadFile("presets/" + name + ".json")
}

// LoadConfigModel resolves --config FILE or --preset NAME (at most one may be set; both empty:
// nil, no config model). Errors name the file or the preset and the key.
func LoadConfigModel(file, preset string) (*ConfigModel, error) {
	switch {
	case file != "" && preset != "":
		return nil, fmt.Errorf("bench: --config and --preset both set; give one")
	case preset != "":
		b, err := PresetConfig(preset)
		if err != nil {
			return nil, err
		}
		c, err := model.ParseConfig(b)
		if err != nil {
			return nil, fmt.Errorf("bench: preset %s (bench/presets/%s.json): %w", preset, preset, err)
		}
		return &ConfigModel{Name: preset, From: "preset " + preset, Config: c}, nil
	case file != "":
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("bench: --config: %w", err)
		}
		c, err := model.LoadConfig(file)
		if err != nil {
			return nil, fmt.Errorf("bench: --config: %w", err)
		}
		if c.Family != model.FamilyLlama {
			return nil, fmt.Errorf("bench: --config %s: architecture %s is not supported by bench (Llama, Mistral, Qwen2, Qwen3 and Gemma 3 are)", file, c.Architecture)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		if name == "config" || name == "" { // a model folder's config.json: name it after the folder
			if abs, err := filepath.Abs(file); err == nil {
				name = filepath.Base(filepath.Dir(abs))
			}
			if name == "" || name == "." || name == string(filepath.Separator) {
				name = "config"
			}
		}
		return &ConfigModel{Name: name, From: file, Config: c}, nil
	}
	return nil, nil
}
