package model

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// RopeString describes the rotary settings ("none (learned positions)" for GPT-2), with the
// sliding-window layers' own settings where they differ (Gemma 3).
func (c *Config) RopeString() string {
	if c.Family != FamilyLlama {
		return "none (learned positions)"
	}
	s := ropeString(c.Rope)
	if c.RopeLocal != c.Rope {
		s = "global layers " + s + "; sliding layers " + ropeString(c.RopeLocal)
	}
	return s
}

func ropeString(r RopeParameters) string {
	switch r.RopeType {
	case "llama3":
		return fmt.Sprintf("llama3 theta=%g factor=%g low_freq_factor=%g high_freq_factor=%g original_max_position_embeddings=%d",
			r.RopeTheta, r.Factor, r.LowFreqFactor, r.HighFreqFactor, r.OriginalMaxPositionEmbeddings)
	case "linear":
		return fmt.Sprintf("linear theta=%g factor=%g", r.RopeTheta, r.Factor)
	}
	return fmt.Sprintf("default theta=%g", r.RopeTheta)
}

// SlidingLayers is the number of layers with a sliding attention window.
func (c *Config) SlidingLayers() int {
	n := 0
	for _, w := range c.Windows {
		if w > 0 {
			n++
		}
	}
	return n
}

// Features lists what the block adds to the plain Llama layout ("" for none): per-head q/k norms,
// (1 + w) norms, post norms, embedding scale, attention scale other than 1/√head_dim, logit and
// attention softcapping.
func (c *Config) Features() string {
	if c.Family != FamilyLlama {
		return ""
	}
	var f []string
	if c.QKNorm {
		f = append(f, "q/k norm")
	}
	if c.NormOffset != 0 {
		f = append(f, fmt.Sprintf("(%g + w) norms", c.NormOffset))
	}
	if c.PostNorms {
		f = append(f, "post-attention and pre/post feed-forward norms")
	}
	if c.EmbedScale != 1 {
		f = append(f, fmt.Sprintf("embeddings ×%g", c.EmbedScale))
	}
	if d := 1 / math.Sqrt(float64(c.HeadDim)); math.Abs(c.AttnScale-d) > 1e-12*d {
		f = append(f, fmt.Sprintf("attention scale %g", c.AttnScale))
	}
	if c.LogitCap > 0 {
		f = append(f, fmt.Sprintf("final logit softcap %g", c.LogitCap))
	}
	if c.AttnCap > 0 {
		f = append(f, fmt.Sprintf("attention softcap %g", c.AttnCap))
	}
	return strings.Join(f, ", ")
}
