package generate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StopIDsFromModelDir returns the end-of-sequence ids a model folder declares:
// generation_config.json's eos_token_id (an id or a list of ids), else config.json's. A folder
// with neither declares none (nil, nil); an unreadable or malformed file is an error.
func StopIDsFromModelDir(dir string) ([]int, error) {
	for _, name := range []string{"generation_config.json", "config.json"} {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		var doc struct {
			EOS json.RawMessage `json:"eos_token_id"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("generate: %s: invalid JSON: %v", path, err)
		}
		if len(doc.EOS) == 0 || string(doc.EOS) == "null" {
			continue
		}
		var one int
		if json.Unmarshal(doc.EOS, &one) == nil {
			return []int{one}, nil
		}
		var many []int
		if err := json.Unmarshal(doc.EOS, &many); err != nil {
			return nil, fmt.Errorf("generate: %s: eos_token_id is %s, expected an integer or a list of integers", path, doc.EOS)
		}
		return many, nil
	}
	return nil, nil
}
