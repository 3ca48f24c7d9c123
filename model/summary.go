package model

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Summary describes a model folder without loading its weights (only the safetensors header is
// read): what `moslora inspect` prints.
type Summary struct {
	Dir        string
	Config     *Config
	NumParams  int      // elements of all parameter tensors in the checkpoint (buffers excluded)
	DTypes     []string // tensor dtypes present in the checkpoint, sorted
	Tensors    int      // number of parameter tensors
	Tokenizer  string   // path of tokenizer.json, "" when absent
	WeightFile string   // path of the weights file
}

// Summarize reads dir's config.json and its weights header.
func Summarize(dir string) (*Summary, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	src, file, closeSrc, err := openWeights(dir)
	if err != nil {
		return nil, err
	}
	defer closeSrc()
	s := &Summary{Dir: dir, Config: cfg, WeightFile: file}
	for _, n := range src.Names() {
		if ignored(cfg.Family, n) {
			continue
		}
		info := src.Info(n)
		s.NumParams += info.NumElements()
		s.Tensors++
		if dt := string(info.DType); !slices.Contains(s.DTypes, dt) {
			s.DTypes = append(s.DTypes, dt)
		}
	}
	slices.Sort(s.DTypes)
	if tok := filepath.Join(dir, "tokenizer.json"); fileExists(tok) {
		s.Tokenizer = tok
	}
	return s, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// RopeString describes the rotary settings ("none (learned positions)" for GPT-2).
func (c *Config) RopeString() string {
	if c.Family != FamilyLlama {
		return "none (learned positions)"
	}
	r := c.Rope
	switch r.RopeType {
	case "llama3":
		return fmt.Sprintf("llama3 theta=%g factor=%g low_freq_factor=%g high_freq_factor=%g original_max_position_embeddings=%d",
			r.RopeTheta, r.Factor, r.LowFreqFactor, r.HighFreqFactor, r.OriginalMaxPositionEmbeddings)
	case "linear":
		return fmt.Sprintf("linear theta=%g factor=%g", r.RopeTheta, r.Factor)
	}
	return fmt.Sprintf("default theta=%g", r.RopeTheta)
}
