// Package defaults holds the embedded default that `moslora demo` runs with no downloads: a tiny
// Llama-architecture base model that this project pretrained itself (defaults/build.sh: full
// training from random initialisation on the public-domain corpus slice corpus.jsonl.gz), the
// base-19m tokenizer, and a small multi-task set (tasks/) drawn from redistributable sources
// (LICENSES.md). defaults/gen regenerates the data from ../shared.
//
// # Invariants
//
//   - The files are byte-for-byte those written by defaults/build.sh; nothing is generated at
//     run time.
//   - Extract never modifies the embedded files; it copies them into a folder the caller owns.
package defaults

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed model/config.json model/tokenizer.json model/tokenizer_config.json model/model.safetensors
//go:embed tasks/train.jsonl tasks/test.jsonl
var files embed.FS

// Paths are the locations of the extracted default model folder and task files.
type Paths struct {
	ModelDir, Train, Test string
}

// Extract copies the embedded model folder and task files into dir (which must exist).
func Extract(dir string) (Paths, error) {
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return Paths{}, fmt.Errorf("defaults: extracting the embedded model into %s: %w", dir, err)
	}
	return Paths{
		ModelDir: filepath.Join(dir, "model"),
		Train:    filepath.Join(dir, "tasks", "train.jsonl"),
		Test:     filepath.Join(dir, "tasks", "test.jsonl"),
	}, nil
}
