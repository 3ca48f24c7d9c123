package jobs

import (
	"fmt"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/model"
)

// EvalFiles names what Evaluate loads.
type EvalFiles struct {
	ModelDir   string // model argument (see ModelDir): weights, config, tokenizer
	AdapterDir string // PEFT adapter folder, "" for the base model
	Data       string // JSONL rows
	SkipBad    bool   // skip bad lines instead of failing
	BaseDtype  string // how the frozen base is held (model.ParseBaseDtype: auto, f32, bf16, f16, q8)
	Compute    string // arithmetic of the products with the frozen base and of attention's (model.ParseCompute: f32, bf16)
}

// Evaluate loads the rows, the model (and adapter) and the tokenizer from the model folder, and
// evaluates them (eval.Evaluate). It returns the number of skipped lines too.
func Evaluate(f EvalFiles, opt eval.Options) (*eval.Report, int, error) {
	if err := opt.Validate(); err != nil {
		return nil, 0, err
	}
	rows, skipped, err := data.ReadFile(f.Data, f.SkipBad)
	if err != nil {
		return nil, skipped, err
	}
	if len(rows) == 0 {
		return nil, skipped, fmt.Errorf("eval: %s holds no rows", f.Data)
	}
	base, err := model.ParseBaseDtype(f.BaseDtype)
	if err != nil {
		return nil, skipped, fmt.Errorf("eval: --base-dtype: %w", err)
	}
	compute, err := model.ParseCompute(f.Compute)
	if err != nil {
		return nil, skipped, fmt.Errorf("eval: --compute: %w", err)
	}
	if base == model.BaseAuto && compute == model.ComputeBF16 {
		base = model.BaseBF16 // rounded once at load instead of at every product: the same bits
	}
	op, err := Open{Model: f.ModelDir, Adapter: f.AdapterDir, Tokenizer: true, Base: base}.Load()
	if err != nil {
		return nil, 0, err
	}
	op.Model.SetCompute(compute)
	opt.Pad = op.Tokenizer.EOS()
	rep, err := eval.Evaluate(eval.ModelLM{M: op.Model}, op.Encoder, rows, opt)
	return rep, skipped, err
}
