package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/moslora/moslora/internal/within"
)

// Validate checks the bookkeeping flags of a training before any work; errors name the flag.
func (f *TrainFiles) Validate() error {
	for _, v := range []struct {
		flag string
		n    int
		min  int
		what string
	}{
		{"limit", f.Limit, 0, "0 for all rows"},
		{"eval-limit", f.EvalLimit, 0, "0 for all rows"},
		{"save-every", f.SaveEvery, 0, "0 to save only when interrupted"},
		{"keep", f.Keep, 0, "0 for the default of 1"},
		{"log-every", f.LogEvery, 0, "0 for the default of 10"},
	} {
		if v.n < v.min {
			return fmt.Errorf("train: --%s %d: expected a number ≥ %d (%s)", v.flag, v.n, v.min, v.what)
		}
	}
	if f.EvalLimit > 0 && f.Eval == "" {
		return fmt.Errorf("train: --eval-limit %d needs --eval", f.EvalLimit)
	}
	if f.ModelDir != "" && f.Out != "" && within.Dir(f.Out, f.ModelDir) {
		return fmt.Errorf("train: --out %s is the model folder %s or inside it; choose a folder of its own", f.Out, f.ModelDir)
	}
	if err := checkDataFile("data", f.Data); err != nil {
		return err
	}
	if f.Eval != "" {
		return checkDataFile("eval", f.Eval)
	}
	return nil
}

// Validate checks the demo's row counts.
func (d *Demo) Validate() error {
	if d.TrainRows < 0 {
		return fmt.Errorf("demo: --rows %d: expected a number ≥ 0 (0 for all rows)", d.TrainRows)
	}
	if d.PerTask < 0 {
		return fmt.Errorf("demo: --per-task %d: expected a number ≥ 0 (0 for all rows)", d.PerTask)
	}
	return d.Config.Validate()
}

// checkDataFile checks that the file given to --flag exists and is a file.
func checkDataFile(flag, path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("train: --%s %s: no such file; expected a JSONL file", flag, path)
	case err != nil:
		return fmt.Errorf("train: --%s: %w", flag, err)
	case st.IsDir():
		return fmt.Errorf("train: --%s %s is a folder; expected a JSONL file", flag, path)
	}
	return nil
}
