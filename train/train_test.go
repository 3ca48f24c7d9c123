package train

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/model"
)

const tinyConfig = `{"architectures": ["LlamaForCausalLM"], "vocab_size": 48, "hidden_size": 16,
 "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
 "head_dim": 8, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "hidden_act": "silu",
 "tie_word_embeddings": true, "rope_theta": 10000}`

func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	cfg, err := model.ParseConfig([]byte(tinyConfig))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewRandom(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tinyExamples are prompt/completion-shaped random sequences: a prompt of 3–8 ids, then a
// completion of 2–5 ids that depends on the prompt (so there is something to learn), then EOS 2.
func tinyExamples(n int) []data.Example {
	r := rand.New(rand.NewPCG(3, 4))
	var exs []data.Example
	for i := 0; i < n; i++ {
		ids, labels := []int{1}, []int{data.IgnoreLabel}
		p := 3 + r.IntN(6)
		first := 0
		for j := 0; j < p; j++ {
			id := 3 + r.IntN(45)
			first = id
			ids, labels = append(ids, id), append(labels, data.IgnoreLabel)
		}
		c := 2 + r.IntN(4)
		for j := 0; j < c; j++ {
			id := 3 + (first+j)%45
			ids, labels = append(ids, id), append(labels, id)
		}
		ids, labels = append(ids, 2), append(labels, 2)
		exs = append(exs, data.Example{IDs: ids, Labels: labels, Row: i})
	}
	return exs
}

func tinyJob(t *testing.T, method, out string) *Job {
	cfg := DefaultConfig()
	cfg.Method = method
	cfg.Rank, cfg.Alpha, cfg.Subspaces = 4, 8, 2
	cfg.Batch, cfg.GradAccum, cfg.Steps, cfg.Warmup = 4, 2, 7, 2
	cfg.LR, cfg.MaxLen, cfg.WeightDecay = 1e-2, 32, 0.01
	return &Job{Config: cfg, Model: tinyModel(t), Examples: tinyExamples(20), Out: out, SaveEvery: 3, Keep: 2}
}

// trained returns every trainable tensor after a run, by name.
func trained(job *Job, res *Result) map[string][]float32 {
	out := map[string][]float32{}
	if res.Adapter != nil {
		for _, p := range res.Adapter.Params() {
			out[p.Key] = append([]float32(nil), p.W...)
		}
		return out
	}
	for _, p := range job.Model.Params() {
		out[p.Name] = append([]float32(nil), p.W...)
	}
	return out
}

func TestResumeIsBitIdentical(t *testing.T) {
	methods := []string{MethodMoSLoRA, MethodGated, MethodFull}
	if testing.Short() {
		methods = methods[:1]
	}
	for _, method := range methods {
		t.Run(method, func(t *testing.T) {
			dir := t.TempDir()
			full := tinyJob(t, method, filepath.Join(dir, "full"))
			resA, err := Run(context.Background(), full)
			if err != nil {
				t.Fatal(err)
			}
			want := trained(full, resA)

			// Interrupted at step 4 (between checkpoints at 3 and 6; 7 steps cross the epoch
			// boundary at step 3), then resumed by a fresh process.
			out := filepath.Join(dir, "resumed")
			first := tinyJob(t, method, out)
			first.stopAfter = 4
			if _, err := Run(context.Background(), first); !errors.Is(err, ErrInterrupted) {
				t.Fatalf("interrupted run: got %v, want ErrInterrupted", err)
			}
			if got := LatestCheckpoint(out); filepath.Base(got) != "checkpoint-4" {
				t.Fatalf("latest checkpoint %q, want checkpoint-4", got)
			}
			second := tinyJob(t, method, out)
			second.Resume = true
			resB, err := Run(context.Background(), second)
			if err != nil {
				t.Fatal(err)
			}
			if resB.Resumed != 4 || resB.Steps != 7 {
				t.Errorf("resumed at %d, finished at %d; want 4 and 7", resB.Resumed, resB.Steps)
			}
			got := trained(second, resB)
			maxDiff, changed := 0.0, false
			for name, w := range want {
				g := got[name]
				if len(g) != len(w) {
					t.Fatalf("%s: %d values after resume, %d uninterrupted", name, len(g), len(w))
				}
				for i := range w {
					maxDiff = math.Max(maxDiff, math.Abs(float64(g[i]-w[i])))
				}
			}
			// Full fine-tuning must move the base weights (adapters are checked through the loss).
			var init map[string][]float32
			if method == MethodFull {
				init = trained(tinyJob(t, method, filepath.Join(dir, "x")), &Result{})
			}
			for name, w := range init {
				for i := range w {
					if w[i] != want[name][i] {
						changed = true
					}
				}
			}
			t.Logf("%s: max |resumed - uninterrupted| = %g over %d tensors; final loss %.4f vs %.4f", method, maxDiff, len(want), resB.FinalLoss, resA.FinalLoss)
			if maxDiff != 0 {
				t.Errorf("resumed run differs from the uninterrupted one by up to %g", maxDiff)
			}
			if method == MethodFull && !changed {
				t.Error("full fine-tuning changed no parameter")
			}
			// metrics.jsonl of the resumed run has exactly steps 1..7, equal to the uninterrupted.
			a, b := readMetrics(t, filepath.Join(dir, "full", MetricsFile)), readMetrics(t, filepath.Join(out, MetricsFile))
			if len(a) != 7 || len(b) != 7 {
				t.Fatalf("metrics lines: %d uninterrupted, %d resumed; want 7", len(a), len(b))
			}
			for i := range a {
				if a[i].Step != i+1 || b[i].Step != i+1 || a[i].Loss != b[i].Loss || a[i].LR != b[i].LR {
					t.Errorf("metric %d: %+v vs %+v", i, a[i], b[i])
				}
			}
			if !(a[6].Loss < a[0].Loss) {
				t.Errorf("loss did not decrease: %.4f → %.4f", a[0].Loss, a[6].Loss)
			}
		})
	}
}

func readMetrics(t *testing.T, path string) []Metric {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ms []Metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ms = append(ms, m)
	}
	return ms
}

func TestResumeRejectsOtherSettings(t *testing.T) {
	out := t.TempDir()
	job := tinyJob(t, MethodLoRA, out)
	job.stopAfter = 1
	if _, err := Run(context.Background(), job); !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	other := tinyJob(t, MethodLoRA, out)
	other.Config.LR = 5e-3
	other.Resume = true
	_, err := Run(context.Background(), other)
	if err == nil || !strings.Contains(err.Error(), "lr: checkpoint 0.01, now 0.005") {
		t.Fatalf("got %v, want an error naming lr", err)
	}
}

func TestCancelSavesCheckpoint(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	job := tinyJob(t, MethodLoRA, out)
	job.AfterStep = func(step int) error {
		if step == 2 {
			cancel()
		}
		return nil
	}
	_, err := Run(ctx, job)
	if !errors.Is(err, ErrInterrupted) || filepath.Base(LatestCheckpoint(out)) != "checkpoint-2" {
		t.Fatalf("got %v and checkpoint %q", err, LatestCheckpoint(out))
	}
}

func TestNaNLossNamesStep(t *testing.T) {
	job := tinyJob(t, MethodLoRA, t.TempDir())
	job.Config.LR = 1e30 // explodes after the first update
	job.Config.Clip = 0
	job.Config.Warmup = 0
	_, err := Run(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), "step 2") {
		t.Fatalf("got %v, want a non-finite loss error at step 2", err)
	}
	t.Log(err)
}

func TestLRFactorMatchesTransformers(t *testing.T) {
	// Values of transformers' get_*_schedule_with_warmup lr_lambda(step), warmup 2, total 10.
	cases := []struct {
		sched string
		step  int
		want  float64
	}{
		{ScheduleCosine, 0, 0}, {ScheduleCosine, 1, 0.5}, {ScheduleCosine, 2, 1},
		{ScheduleCosine, 6, 0.5}, {ScheduleCosine, 4, 0.5 * (1 + math.Cos(math.Pi*0.25))}, {ScheduleCosine, 10, 0},
		{ScheduleLinear, 1, 0.5}, {ScheduleLinear, 2, 1}, {ScheduleLinear, 6, 0.5}, {ScheduleLinear, 10, 0},
		{ScheduleConstant, 1, 0.5}, {ScheduleConstant, 9, 1},
	}
	for _, c := range cases {
		if got := LRFactor(c.sched, c.step, 2, 10); math.Abs(got-c.want) > numtest.F64 {
			t.Errorf("%s step %d: %v, want %v", c.sched, c.step, got, c.want)
		}
	}
	if LRFactor(ScheduleCosine, 0, 0, 10) != 1 {
		t.Error("no warmup: first update should use the full rate")
	}
}

// Splitting micro-batches into length-sorted parts is the same mathematics as one padded block.
func TestSplitBatchesMatchOneBlock(t *testing.T) {
	exs := tinyExamples(20)
	for i := 0; i < len(exs); i += 3 { // lengthen some prompts so that batches mix lengths
		long := make([]int, 20)
		lab := make([]int, 20)
		for j := range long {
			long[j], lab[j] = 3+(7*j+i)%45, data.IgnoreLabel
		}
		exs[i].IDs = append(append([]int{1}, long...), exs[i].IDs[1:]...)
		exs[i].Labels = append(append([]int{data.IgnoreLabel}, lab...), exs[i].Labels[1:]...)
	}
	l := data.Loader{Examples: exs, Batch: 4, Pad: 0}
	splits := 0
	for _, b := range l.Epoch(0) {
		if len(b.Split(splitOverhead)) > 1 {
			splits++
		}
	}
	if splits == 0 {
		t.Fatal("no batch of the fixture splits: the test would compare nothing")
	}
	var w [2]map[string][]float32
	var losses [2]float64
	for i, noSplit := range []bool{false, true} {
		job := tinyJob(t, MethodMoSLoRA, t.TempDir())
		job.Examples = exs
		job.noSplit = noSplit
		job.Config.GradAccum = 1
		res, err := Run(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		w[i], losses[i] = trained(job, res), res.FinalLoss
	}
	maxDiff := 0.0
	for name, a := range w[0] {
		for j := range a {
			maxDiff = math.Max(maxDiff, math.Abs(float64(a[j]-w[1][name][j])))
		}
	}
	t.Logf("split vs one block: max |Δw| = %.3g, final loss %.6f vs %.6f", maxDiff, losses[0], losses[1])
	if maxDiff > numtest.F32Model || math.Abs(losses[0]-losses[1]) > numtest.F32 {
		t.Errorf("split training differs from one-block training: max |Δw| %g, losses %v %v", maxDiff, losses[0], losses[1])
	}
}
