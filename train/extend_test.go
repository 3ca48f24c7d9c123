package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/model"
)

// oldAdapter trains a tiny adapter of method (rank 4, alpha 8) for 7 updates on the first task
// and saves it; it returns the adapter folder.
func oldAdapter(t *testing.T, method string) string {
	t.Helper()
	dir := t.TempDir()
	job := tinyJob(t, method, filepath.Join(dir, "run"))
	job.SaveEvery = 0
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "adapter")
	if err := res.Adapter.Save(out); err != nil {
		t.Fatal(err)
	}
	return out
}

// extendJob is a tiny job on a second task (other rows) that extends the adapter in dir by extra
// latent dimensions, with weight decay wd.
func extendJob(t *testing.T, dir string, extra int, out string, wd float64) *Job {
	t.Helper()
	job := tinyJob(t, MethodLoRA, out) // the method is the adapter's
	job.Examples = tinyExamples(40)[20:]
	job.Config.WeightDecay = wd
	cfg, old, err := PrepareExtend(job.Config, dir, extra, job.Model)
	if err != nil {
		t.Fatal(err)
	}
	job.Config, job.Extend = cfg, old
	return job
}

// loadOld reads the adapter in dir detached from a fresh tiny model.
func loadOld(t *testing.T, dir string) *adapter.Adapter {
	t.Helper()
	a, err := adapter.LoadDetached(dir, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestExtendKeepsTheOldSubspacesBitIdenticalUnderWeightDecay(t *testing.T) {
	for _, method := range []string{MethodLoRA, MethodMoSLoRA, "moslora-folded"} {
		t.Run(method, func(t *testing.T) {
			dir := oldAdapter(t, method)
			job := extendJob(t, dir, 3, t.TempDir(), 0.5) // strong decay: any leak would show
			res, err := Run(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != 7 || job.Config.Rank != 7 || job.Config.Method != method {
				t.Fatalf("steps %d rank %d method %s, want 7, 7, %s", res.Steps, job.Config.Rank, job.Config.Method, method)
			}
			old := loadOld(t, dir)
			newMoved := false
			for i, l := range res.Adapter.Linears {
				o := old.Linears[i]
				if !sameBits(l.A[:4*l.In], o.A) {
					t.Errorf("%s: the old rows of A changed", l.Path)
				}
				for row := 0; row < l.Out; row++ {
					if !sameBits(l.B[row*7:row*7+4], o.B[row*4:row*4+4]) {
						t.Fatalf("%s: the old columns of B changed in row %d", l.Path, row)
					}
					for _, v := range l.B[row*7+4 : row*7+7] {
						newMoved = newMoved || v != 0
					}
				}
				m, _ := l.MixMatrix()
				om, _ := o.MixMatrix()
				for p := 0; p < 7; p++ {
					for q := 0; q < 7; q++ {
						switch {
						case p < 4 && q < 4:
							if math.Float32bits(m[p*7+q]) != math.Float32bits(om[p*4+q]) {
								t.Fatalf("%s: old mixer entry [%d,%d] changed: %v → %v", l.Path, p, q, om[p*4+q], m[p*7+q])
							}
						case p < 4 || q < 4:
							if m[p*7+q] != 0 {
								t.Fatalf("%s: off-diagonal mixer entry [%d,%d] = %v, want 0", l.Path, p, q, m[p*7+q])
							}
						}
					}
				}
			}
			if !newMoved {
				t.Error("the new columns of B did not train")
			}
		})
	}
}

// logits runs the tiny model on the first examples, right-padded.
func logits(t *testing.T, m *model.Model) []float32 {
	t.Helper()
	exs := tinyExamples(6)
	T := 0
	for _, e := range exs {
		T = max(T, len(e.IDs))
	}
	ids := make([]int, len(exs)*T)
	for b, e := range exs {
		copy(ids[b*T:], e.IDs)
	}
	out, err := m.Forward(ids, len(exs), T, false)
	if err != nil {
		t.Fatal(err)
	}
	return out.Logits
}

// Before training (B_new = 0) the extended adapter's logits are the old adapter's bit for bit:
// h gains columns, z = M·h gains terms 0·h, and s·z·Bᵀ gains terms z·0, so every float sum gains
// only exact zeros (x + 0 = x) and no non-zero term changes its place in the sum.
func TestExtendedAdapterStartsAtTheOldAdaptersLogits(t *testing.T) {
	for _, method := range []string{MethodLoRA, MethodMoSLoRA} {
		dir := oldAdapter(t, method)
		m1 := tinyModel(t)
		if _, err := adapter.Load(dir, m1); err != nil {
			t.Fatal(err)
		}
		want := logits(t, m1)
		base := logits(t, tinyModel(t))
		for _, extra := range []int{1, 4, 12} {
			m2 := tinyModel(t)
			ext, err := adapter.Extend(loadOld(t, dir), m2, extra, 9)
			if err != nil {
				t.Fatal(err)
			}
			if ext.Config.R != 4+extra {
				t.Fatalf("rank %d", ext.Config.R)
			}
			got := logits(t, m2)
			if !sameBits(got, want) {
				d := 0.0
				for i := range got {
					d = math.Max(d, math.Abs(float64(got[i]-want[i])))
				}
				t.Errorf("%s +%d: logits differ from the old adapter's by up to %g", method, extra, d)
			}
		}
		if sameBits(base, want) {
			t.Fatalf("%s: the old adapter does not change the logits (the test would prove nothing)", method)
		}
	}
}

func TestExtendRunResumesBitIdentically(t *testing.T) {
	dir := oldAdapter(t, MethodMoSLoRA)
	tmp := t.TempDir()
	full := extendJob(t, dir, 4, filepath.Join(tmp, "full"), 0.1)
	resA, err := Run(context.Background(), full)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "resumed")
	first := extendJob(t, dir, 4, out, 0.1)
	first.stopAfter = 4
	if _, err := Run(context.Background(), first); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: got %v, want ErrInterrupted", err)
	}
	second := extendJob(t, dir, 4, out, 0.1)
	second.Resume = true
	resB, err := Run(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	if resB.Resumed != 4 || resB.Steps != 7 {
		t.Fatalf("resumed at %d, finished at %d; want 4 and 7", resB.Resumed, resB.Steps)
	}
	want, got := trained(full, resA), trained(second, resB)
	for name, w := range want {
		if !sameBits(got[name], w) {
			t.Errorf("%s differs after resume", name)
		}
	}
	// The checkpoint records the source: another source is refused.
	other := extendJob(t, oldAdapter(t, MethodMoSLoRA), 4, out, 0.1)
	other.Resume = true
	if _, err := Run(context.Background(), other); err == nil || !strings.Contains(err.Error(), "extend") {
		t.Errorf("resume from another source: got %v, want a settings error naming extend", err)
	}
}

func TestExtendedAdapterSavesLoadsFoldsAndMerges(t *testing.T) {
	dir := oldAdapter(t, MethodMoSLoRA)
	job := extendJob(t, dir, 4, t.TempDir(), 0)
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	res.Adapter.SetTraining(false)
	want := logits(t, job.Model.(*model.Model))
	saved := filepath.Join(t.TempDir(), "ext")
	if err := res.Adapter.Save(saved); err != nil {
		t.Fatal(err)
	}
	c, err := adapter.ReadConfig(filepath.Join(saved, adapter.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.R != 8 || c.LoraAlpha != 16 || c.Scaling(c.R, c.LoraAlpha) != 2 {
		t.Fatalf("saved r %d lora_alpha %v, want 8 and 16 (the old scaling 8/4 = 2)", c.R, c.LoraAlpha)
	}
	m := tinyModel(t)
	a, err := adapter.Load(saved, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := logits(t, m); !sameBits(got, want) {
		t.Error("the reloaded extended adapter's logits differ from the trained one's")
	}
	close := func(what string, got []float32) {
		t.Helper()
		d := 0.0
		for i := range got {
			d = math.Max(d, math.Abs(float64(got[i]-want[i])))
		}
		t.Logf("%s: max |Δlogit| = %g", what, d)
		if d > 1e-4 {
			t.Errorf("%s: logits differ by up to %g", what, d)
		}
	}
	if err := a.Merge(); err != nil {
		t.Fatal(err)
	}
	close("merged", logits(t, m))
	m2 := tinyModel(t)
	f, err := adapter.Load(saved, m2)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Fold(); err != nil {
		t.Fatal(err)
	}
	if f.Config.LoraUseMixer || f.Config.Mixer != "" {
		t.Fatalf("folded config still has a mixer: %+v", f.Config)
	}
	close("folded", logits(t, m2))
}

func TestExtendRankZeroTrainsTheLoadedAdapterItself(t *testing.T) {
	dir := oldAdapter(t, MethodLoRA)
	job := extendJob(t, dir, 0, t.TempDir(), 0)
	var start map[string][]float32
	job.start = func(a *adapter.Adapter) { start = trained(job, &Result{Adapter: a}) }
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if job.Config.Rank != 4 || job.Config.Alpha != 8 || res.Adapter.NumTrainable() != res.Adapter.NumParams() {
		t.Fatalf("rank %d alpha %v, trainable %d of %d; want 4, 8, all", job.Config.Rank, job.Config.Alpha, res.Adapter.NumTrainable(), res.Adapter.NumParams())
	}
	old := trained(nil, &Result{Adapter: loadOld(t, dir)})
	end := trained(job, res)
	for name, w := range old {
		if !sameBits(start[name], w) {
			t.Errorf("%s: the run did not start from the loaded adapter", name)
		}
		if sameBits(end[name], w) {
			t.Errorf("%s: did not train", name)
		}
	}
}

func TestExtendErrorsSayWhatWasExpected(t *testing.T) {
	dir := oldAdapter(t, MethodMoSLoRA)
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("x"), 0o644)
	gated := oldAdapter(t, MethodGated)
	wide := strings.Replace(tinyConfig, `"hidden_size": 16`, `"hidden_size": 24`, 1)
	mc, err := model.ParseConfig([]byte(wide))
	if err != nil {
		t.Fatal(err)
	}
	other, err := model.NewRandom(mc, 1)
	if err != nil {
		t.Fatal(err)
	}
	full := DefaultConfig()
	full.Method = MethodFull
	for _, c := range []struct {
		name  string
		cfg   Config
		dir   string
		extra int
		m     adapter.Base
		want  []string
	}{
		{"missing folder", DefaultConfig(), filepath.Join(empty, "nope"), 2, tinyModel(t), []string{"extend", "nope", "no such folder", "adapter_config.json"}},
		{"no adapter", DefaultConfig(), empty, 2, tinyModel(t), []string{"extend", "holds no adapter_config.json"}},
		{"gated", DefaultConfig(), gated, 2, tinyModel(t), []string{"extend", "method gated cannot be extended", "extend-rank 0"}},
		{"other base", DefaultConfig(), dir, 2, other, []string{"extend", "does not fit this model", "shape"}},
		{"full", full, dir, 2, tinyModel(t), []string{"extend", "method full"}},
	} {
		_, _, err := PrepareExtend(c.cfg, c.dir, c.extra, c.m)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
	if _, _, err := PrepareExtend(DefaultConfig(), gated, 0, tinyModel(t)); err != nil {
		t.Errorf("gated with extend-rank 0 (sequential fine-tuning): %v", err)
	}
}
