package train

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// TokenizerFiles are copied from the model folder into every output folder, so an adapter or a
// fully fine-tuned model carries its tokenizer.
var TokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"}

// SaveOutputs writes the result into out: the PEFT adapter folder (adapter_config.json +
// adapter_model.safetensors) or, for full fine-tuning, a Hugging Face model folder (config.json
// with dtype float32 + model.safetensors), plus the tokenizer files found in modelDir. modelDir
// may be "" for a model built in memory; full fine-tuning then needs configJSON.
func SaveOutputs(out, modelDir string, m Model, res *Result, configJSON []byte) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if res.Adapter != nil {
		if err := res.Adapter.Save(out); err != nil {
			return err
		}
	} else {
		if configJSON == nil {
			b, err := os.ReadFile(filepath.Join(modelDir, "config.json"))
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			configJSON = b
		}
		if err := saveFullModel(out, m, configJSON); err != nil {
			return err
		}
	}
	if modelDir == "" {
		return nil
	}
	for _, name := range TokenizerFiles {
		src := filepath.Join(modelDir, name)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := copyFile(filepath.Join(out, name), src); err != nil {
			return err
		}
	}
	return nil
}

// saveFullModel writes config.json (dtype set to float32) and model.safetensors with every base
// parameter by its checkpoint name; GPT-2 Conv1D weights are transposed back to (in, out).
func saveFullModel(out string, m Model, configJSON []byte) error {
	var cfg map[string]any
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return fmt.Errorf("train: model config.json: %v", err)
	}
	if _, ok := cfg["torch_dtype"]; ok {
		cfg["torch_dtype"] = "float32"
	}
	cfg["dtype"] = "float32"
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	var ts []tensor
	for _, p := range m.Params() {
		t := tensor{name: p.Name, shape: p.Shape, data: p.W}
		if p.Conv1D { // in memory (out, in); the checkpoint stores (in, out)
			o, in := p.Shape[0], p.Shape[1]
			d := make([]float32, len(p.W))
			for i := 0; i < o; i++ {
				for j := 0; j < in; j++ {
					d[j*o+i] = p.W[i*in+j]
				}
			}
			t = tensor{name: p.Name, shape: []int{in, o}, data: d}
		}
		ts = append(ts, t)
	}
	if err := writeTensors(filepath.Join(out, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(out, "config.json"), append(b, '\n'))
}

// copyFile copies src to dst atomically.
func copyFile(dst, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("train: reading %s: %w", src, err)
	}
	return writeFileAtomic(dst, b)
}
