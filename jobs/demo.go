package jobs

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/defaults"
	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
	"github.com/moslora/moslora/train"
)

// Demo describes `moslora demo`: a MoSLoRA adapter trained on a small task set, with the base
// model's and the adapted model's scores on held-out rows.
type Demo struct {
	ModelDir  string // model folder
	TrainData string // training JSONL
	TestData  string // evaluation JSONL
	Out       string // output folder for the adapter and metrics
	TrainRows int    // first N training rows (0: all)
	PerTask   int    // evaluation rows per task (0: all)
	Config    train.Config
}

// DefaultDemo returns the demo's training settings for the embedded default (1500 training rows,
// 200 test rows): MoSLoRA r 16 on all projections, two epochs of a short cosine run at a higher
// rate than the protocol's, so that a few hundred updates of a tiny model show an effect.
func DefaultDemo() Demo {
	c := train.DefaultConfig()
	c.Method, c.LR, c.Batch, c.Epochs, c.Warmup, c.MaxLen = train.MethodMoSLoRA, 3e-3, 8, 2, 10, 192
	return Demo{TrainRows: 0, PerTask: 40, Config: c}
}

// Sample is one greedy generation for a held-out prompt, before and after training.
type Sample struct {
	Task, Input, Want, Before, After string
}

// DemoResult holds the two evaluations, sample generations and the training summary.
type DemoResult struct {
	Before, After *eval.Report
	Samples       []Sample
	Train         *train.Result
	TrainRows     int
	EvalRows      int
	Adapter       *adapter.Adapter
	Elapsed       time.Duration
	Out           string // the folder holding the adapter
	// EmbeddedDefault: the model or the task set came from the embedded default (package
	// defaults), extracted for the run into a temporary folder that is removed afterwards.
	EmbeddedDefault bool
}

// RunDemo evaluates the base model, trains the adapter and evaluates again, printing progress to w.
// A model or data file left empty comes from the embedded default; an empty Out is a new
// temporary folder.
func RunDemo(ctx context.Context, d Demo, w io.Writer) (*DemoResult, error) {
	start := time.Now()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if d.Out == "" {
		var err error
		if d.Out, err = os.MkdirTemp("", "moslora-demo-"); err != nil {
			return nil, err
		}
	}
	od, err := train.OpenOut(d.Out, false, false, w) // never over an earlier run's folder
	if err != nil {
		return nil, err
	}
	defer od.Close()
	embedded := d.ModelDir == "" || d.TrainData == "" || d.TestData == ""
	if embedded {
		dir, err := os.MkdirTemp("", "moslora-default-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		p, err := defaults.Extract(dir)
		if err != nil {
			return nil, err
		}
		if d.ModelDir == "" {
			d.ModelDir = p.ModelDir
		}
		if d.TrainData == "" {
			d.TrainData = p.Train
		}
		if d.TestData == "" {
			d.TestData = p.Test
		}
	}
	op, err := Open{Model: d.ModelDir, Tokenizer: true}.Load()
	if err != nil {
		return nil, err
	}
	tok, m := op.Tokenizer, op.Model
	rows, _, err := data.ReadFile(d.TrainData, false)
	if err != nil {
		return nil, err
	}
	if d.TrainRows > 0 && d.TrainRows < len(rows) {
		rows = rows[:d.TrainRows]
	}
	test, _, err := data.ReadFile(d.TestData, false)
	if err != nil {
		return nil, err
	}
	test = PerTask(test, d.PerTask)
	exs, _, err := encodeRows(tok, rows, d.Config.MaxLen, d.Config.Pack)
	if err != nil {
		return nil, err
	}
	eopt := eval.Options{MaxLen: d.Config.MaxLen, Pad: tok.EOS()}
	fmt.Fprintf(w, "evaluating the base model on %d held-out rows…\n", len(test))
	before, err := eval.Evaluate(eval.ModelLM{M: m}, tok, test, eopt)
	if err != nil {
		return nil, err
	}
	samples := sampleCandidates(test, 4)
	for i := range samples {
		if samples[i].Before, err = greedy(m, tok, samples[i].Input); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(w, "training a %s adapter (r %d, alpha %g) on %d rows…\n", d.Config.Method, d.Config.Rank, d.Config.Alpha, len(rows))
	job := &train.Job{Config: d.Config, Model: m, Examples: exs, Pad: op.Pad(), Out: d.Out, Reporter: train.NewReporter(w, 4)}
	res, err := train.Run(ctx, job)
	if err != nil {
		return nil, err
	}
	if err := od.Commit(func(tmp string) error { return train.SaveOutputs(tmp, op.Dir, m, res, nil) }); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "evaluating the adapted model…\n")
	after, err := eval.Evaluate(eval.ModelLM{M: m}, tok, test, eopt)
	if err != nil {
		return nil, err
	}
	for i := range samples {
		if samples[i].After, err = greedy(m, tok, samples[i].Input); err != nil {
			return nil, err
		}
	}
	samples = visibleSamples(samples, 3)
	return &DemoResult{Before: before, After: after, Samples: samples, Train: res, TrainRows: len(rows), EvalRows: len(test),
		Adapter: res.Adapter, Elapsed: time.Since(start), Out: d.Out, EmbeddedDefault: embedded}, nil
}

// greedy decodes up to 32 tokens after BOS + prompt, stopping at EOS.
func greedy(m *model.Model, tok *tokenizer.Tokenizer, prompt string) (string, error) {
	ids := tok.Encode(prompt, false)
	if tok.AddBOS() && tok.BOS() >= 0 {
		ids = append([]int{tok.BOS()}, ids...)
	}
	g, err := generate.Generate(m, ids, generate.Options{MaxNewTokens: 32, StopIDs: []int{tok.EOS()}}, nil)
	if err != nil {
		return "", err
	}
	return tok.Decode(g.Generated(), true), nil
}

// PerTask keeps the first n rows of each task, in file order (n ≤ 0: all rows).
func PerTask(rows []data.Row, n int) []data.Row {
	if n <= 0 {
		return rows
	}
	count := map[string]int{}
	var out []data.Row
	for _, r := range rows {
		if count[r.Task] < n {
			count[r.Task]++
			out = append(out, r)
		}
	}
	return out
}
