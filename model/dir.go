package model

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckDir checks that dir is a local Hugging Face model folder (it holds config.json), with an
// error in the user's terms (naming --model) when it is a file, missing, or another folder.
func CheckDir(dir string) error {
	const want = "expected a local Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or a hub name org/name"
	if dir == "" {
		return errors.New("--model is required: " + want)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--model %s: no such folder; %s", dir, want)
	case err != nil:
		return fmt.Errorf("--model %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("--model %s is a file; %s", dir, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return fmt.Errorf("--model %s has no config.json; %s", dir, want)
	}
	return nil
}
