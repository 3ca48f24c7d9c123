package jobs

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moslora/moslora/internal/atomicfile"
	"github.com/moslora/moslora/internal/version"
	"github.com/moslora/moslora/train"
)

// DataFile identifies a file a run read: its path as given, size and SHA-256.
type DataFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// describeFile hashes a data file for train_config.json.
func describeFile(path string) (DataFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return DataFile{}, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return DataFile{}, fmt.Errorf("train: reading %s: %w", path, err)
	}
	return DataFile{Path: path, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeRunInfo records the settings, inputs and outcome of the run in dir/train_config.json:
// the Config, the model and data files given (data with size and SHA-256), the command line, the
// moslora build, --base-dtype and the base values it gave (BaseValues), and the final loss.
func writeRunInfo(dir string, cfg train.Config, f TrainFiles, baseValues string, s *TrainSummary) error {
	var files []DataFile
	for _, p := range []string{f.Data, f.Eval} {
		if p == "" {
			continue
		}
		d, err := describeFile(p)
		if err != nil {
			return err
		}
		files = append(files, d)
	}
	abs, _ := filepath.Abs(f.ModelDir)
	info := map[string]any{
		"config": cfg, "rows": s.Rows, "skipped_lines": s.Skipped, "truncated_examples": s.Truncated,
		"steps": s.Result.Steps, "final_loss": s.Result.FinalLoss, "tokens": s.Result.Tokens,
		"trainable_params": s.Trainable,
		"base_model":       cmp.Or(f.BaseModelName, f.ModelDir), "base_model_path": abs,
		"data_files": files, "command_line": f.CommandLine, "moslora_version": version.Read(),
		"base_dtype": cmp.Or(f.BaseDtype, "auto"), "base_values": baseValues,
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "train_config.json"), append(b, '\n'), 0o644)
}
