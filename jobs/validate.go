package jobs

import (
	"errors"
	"io/fs"
	"os"

	"github.com/moslora/moslora/internal/setting"
	"github.com/moslora/moslora/internal/within"
)

// Validate checks the bookkeeping settings of a training before any work; errors are
// *setting.Error (naming the setting by key; the CLI shows it as the flag).
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
			return setting.Errorf("train", v.flag, v.n, ": expected a number ≥ %d (%s)", v.min, v.what)
		}
	}
	if f.EvalLimit > 0 && f.Eval == "" {
		return setting.Errorf("train", "eval-limit", f.EvalLimit, " needs %s", setting.Ref("eval"))
	}
	if f.ModelDir != "" && f.Out != "" && within.Dir(f.Out, f.ModelDir) {
		return setting.Errorf("train", "out", f.Out, " is the model folder %s or inside it; choose a folder of its own", f.ModelDir)
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
		return setting.Errorf("demo", "rows", d.TrainRows, ": expected a number ≥ 0 (0 for all rows)")
	}
	if d.PerTask < 0 {
		return setting.Errorf("demo", "per-task", d.PerTask, ": expected a number ≥ 0 (0 for all rows)")
	}
	return d.Config.Validate()
}

// checkDataFile checks that the file given to --flag exists and is a file.
func checkDataFile(flag, path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return setting.Wrap(err, "train", flag, path, ": no such file; expected a JSONL file")
	case err != nil:
		return setting.Wrap(err, "train", flag, nil, ": %v", err)
	case st.IsDir():
		return setting.Errorf("train", flag, path, " is a folder; expected a JSONL file")
	}
	return nil
}
