package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/internal/atomicfile"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/mpi"
	"github.com/moslora/moslora/train"
)

// TrainFiles names what Train reads and writes, and the run's bookkeeping settings (none of which
// changes the trained result).
type TrainFiles struct {
	ModelDir   string // model argument (see ModelDir): config, weights, tokenizer
	InitRandom bool   // ignore the weights: random initialisation from config.json (full only)
	Data       string // training JSONL
	Eval       string // optional evaluation JSONL, scored after training into Out/eval.json
	Out        string // output folder
	SkipBad    bool   // skip bad lines (counted) instead of failing
	Resume     bool   // continue from the newest checkpoint in Out
	Force      bool   // start over in an Out that holds an earlier run (see train.OpenOut)
	SaveEvery  int    // checkpoint every N updates (0: only on interruption)
	Keep       int    // checkpoints to keep (default 1)
	LogEvery   int    // plain-text progress line every N updates (default 10)
	Limit      int    // use only the first Limit training rows (0: all)
	EvalLimit  int    // evaluate only the first EvalLimit rows (0: all)
	// BaseDtype is how the frozen base is held (model.ParseBaseDtype: auto, f32, bf16, f16, q8).
	// For a bf16 (f16) checkpoint auto and f32 train the same bits; bf16 or f16 on a float32
	// checkpoint rounds the base. Recorded in train_config.json; --resume refuses other base values (BaseValues).
	BaseDtype string
	Recompute bool // recompute each block's activations in the backward pass (same gradients, less memory)
	// Extend, when set, is an adapter folder the run starts from (train.PrepareExtend): ExtendRank
	// new latent dimensions are appended and trained alone (< 0: as many as it has; 0: none, the
	// adapter's own tensors train). The method, rank, alpha and targets are then the adapter's.
	Extend     string
	ExtendRank int
	// Comm runs the job data-parallel over the ranks of an MPI job (train.Job.Comm, and the
	// evaluation after it through eval.Options.Comm); rank 0 alone reports and writes. nil: alone.
	Comm mpi.Comm
	// Names, when set, names settings in the messages printed to w (the CLI: as flags); nil: by key.
	Names func(setting string) string

	CommandLine   []string // recorded in train_config.json (os.Args)
	BaseModelName string   // recorded as the adapter's base_model_name_or_path (default: ModelDir)
}

// TrainSummary is what Train reports.
type TrainSummary struct {
	Config      train.Config // the run's settings (an extending run's method, rank and alpha are its adapter's)
	Result      *train.Result
	Rows        int          // training rows used
	Skipped     int          // bad training lines skipped
	Truncated   int          // training examples cut to MaxLen
	Trainable   int          // trainable parameters
	Eval        *eval.Report // when TrainFiles.Eval is set
	EvalSkipped int
}

// Train loads the model, tokenizer and data, trains (train.Run), and writes the outputs (see
// train.SaveOutputs), metrics.jsonl, checkpoints, train_config.json and, with an eval file,
// eval.json. Progress goes to w.
func Train(ctx context.Context, cfg train.Config, f TrainFiles, w io.Writer) (*TrainSummary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.InitRandom && cfg.Method != train.MethodFull {
		return nil, fmt.Errorf("train: a random initialisation trains a base model and needs method %s, not %q", train.MethodFull, cfg.Method)
	}
	base, err := model.ParseBaseDtype(f.BaseDtype)
	if err != nil {
		return nil, fmt.Errorf("train: --base-dtype: %w", err)
	}
	compute, _ := model.ParseCompute(cfg.Compute) // checked by Validate
	cfg.Compute = string(compute)                 // train_config.json names it, f32 included
	if base == model.BaseAuto && compute == model.ComputeBF16 && cfg.Method != train.MethodFull {
		base = model.BaseBF16 // rounded once at load instead of at every product: the same bits
	}
	root := mpi.IsRoot(f.Comm) // rank 0 alone reports and writes
	var od *train.OutDir
	if root { // the output folder is held (and an earlier run refused) before anything is loaded
		var err error
		if od, err = train.OpenOut(f.Out, f.Resume, f.Force, w, f.Names); err != nil {
			return nil, err
		}
		defer od.Close()
	}
	op, err := Open{Model: f.ModelDir, Tokenizer: true, InitRandom: f.InitRandom, Seed: cfg.Seed, Base: base}.Load()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	tok, ctok, m := op.Tokenizer, op.Encoder, op.Model
	m.SetRecompute(f.Recompute)
	m.SetCompute(compute)
	if !compute.Native() && root {
		fmt.Fprintln(w, "note: this CPU has no AVX512-BF16: --compute bf16 runs a portable emulation (the same results, many times slower than f32)")
	}
	var old *adapter.Adapter // the adapter an extending run starts from
	if f.Extend != "" {
		if cfg, old, err = train.PrepareExtend(cfg, f.Extend, f.ExtendRank, m); err != nil {
			return nil, err
		}
	} else if err := cfg.CheckAgainstModel(m); err != nil {
		return nil, err
	}
	rows, skipped, err := data.ReadFile(f.Data, f.SkipBad)
	if err != nil {
		return nil, err
	}
	if f.Limit > 0 && f.Limit < len(rows) {
		rows = rows[:f.Limit]
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("train: %s holds no usable rows", f.Data)
	}
	exs, truncated, err := encodeRows(ctok, rows, cfg.MaxLen, cfg.Pack)
	if err != nil {
		return nil, err
	}
	var evalRows []data.Row
	sum := &TrainSummary{Config: cfg, Rows: len(rows), Skipped: skipped, Truncated: truncated}
	if f.Eval != "" { // read it now so a bad eval file fails before training
		if evalRows, sum.EvalSkipped, err = data.ReadFile(f.Eval, f.SkipBad); err != nil {
			return nil, err
		}
	}
	rep := train.NewReporter(w, max(1, f.LogEvery))
	if f.LogEvery == 0 {
		rep = train.NewReporter(w, 10)
	}
	if !root {
		rep = train.Quiet{}
	}
	var cfgJSON []byte
	if f.InitRandom {
		cfgJSON, _ = os.ReadFile(filepath.Join(op.Dir, "config.json"))
	}
	job := &train.Job{Config: cfg, Model: m, Examples: exs, Pad: op.Pad(), Out: f.Out, Resume: f.Resume,
		SaveEvery: f.SaveEvery, Keep: f.Keep, Reporter: rep, Comm: f.Comm, BaseModel: cmp.Or(f.BaseModelName, f.ModelDir),
		Names: f.Names, Extend: old, Base: BaseValues(base, m.Config.WeightDType, f.InitRandom)}
	job.Finish = func(res *train.Result) error { // rank 0 only: the outputs appear together
		sum.Result = res
		if res.Adapter != nil {
			sum.Trainable = res.Adapter.NumTrainable()
		} else {
			sum.Trainable = m.NumParams()
		}
		return od.Commit(func(tmp string) error {
			if err := train.SaveOutputs(tmp, op.Dir, m, res, cfgJSON); err != nil {
				return err
			}
			return writeRunInfo(tmp, cfg, f, job.Base, sum)
		})
	}
	if skipped > 0 {
		rep.Printf("skipped %d bad lines of %s", skipped, f.Data)
	}
	res, err := train.Run(ctx, job)
	if err != nil {
		return nil, err
	}
	sum.Result = res
	if res.Adapter != nil {
		sum.Trainable = res.Adapter.NumTrainable()
	} else {
		sum.Trainable = m.NumParams()
	}
	if f.Eval != "" {
		r, err := eval.Evaluate(eval.ModelLM{M: m}, ctok, evalRows, eval.Options{MaxLen: cfg.MaxLen, Limit: f.EvalLimit, Pad: tok.EOS(), Comm: f.Comm})
		if err != nil {
			return nil, err
		}
		sum.Eval = r
		if !root {
			return sum, nil
		}
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := atomicfile.WriteFile(filepath.Join(f.Out, "eval.json"), append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
		if err := writeGateUsage(f.Out, m, res.Adapter, ctok, evalRows, cfg.MaxLen, f.EvalLimit); err != nil { // gated adapters only
			return nil, err
		}
	}
	return sum, nil
}

// encodeRows tokenizes rows and counts the examples that the length limit cut. With pack, plain
// {"text"} rows longer than maxLen are split into maxLen chunks (data.Chunk) instead of cut, so
// pretraining-style data loses nothing; prompt/completion and chat rows are always truncated.
func encodeRows(tok data.Tokenizer, rows []data.Row, maxLen int, pack bool) ([]data.Example, int, error) {
	full, err := data.EncodeAll(tok, rows, 0)
	if err != nil {
		return nil, 0, err
	}
	truncated := 0
	bos := tok.AddBOS() && tok.BOS() >= 0
	out := full[:0:0]
	for i := range full {
		switch {
		case len(full[i].IDs) <= maxLen:
			out = append(out, full[i])
		case pack && rows[i].HasText:
			out = append(out, data.Chunk(full[i], maxLen)...)
		default:
			truncated++
			data.Truncate(&full[i], maxLen, bos)
			out = append(out, full[i])
		}
	}
	return out, truncated, nil
}
