package jobs

import (
	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/internal/setting"
	"github.com/moslora/moslora/model"
)

// GenerateJob continues a prompt with a model (and adapter, unmerged or merged).
type GenerateJob struct {
	Model   string // model argument (see ModelDir)
	Adapter string // adapter folder, "" for none
	Merge   bool   // merge the adapter into the weights first (identity, dense, global mixers)
	// BaseDtype is how the frozen base is held (model.ParseBaseDtype: auto, f32, bf16, f16, q8).
	BaseDtype string
	Prompt    string // encoded as tokenizer.encode(prompt) does (special tokens included)
	// Rendered: Prompt is a conversation rendered with the chat template, which writes the
	// special tokens itself; it is encoded without added ones.
	Rendered bool
	// Options: MaxNewTokens, sampling and seed; the stop ids of the model folder
	// (generation_config.json) and the tokenizer's EOS are added to StopIDs.
	Options generate.Options
}

// Generated is the result of a GenerateJob.
type Generated struct {
	IDs  []int  // prompt ids + generated ids
	Text string // all of IDs decoded (special tokens skipped)
}

// Generate runs j. onText, when not nil, receives the text as it is decoded: the prompt's first,
// then each new piece, then (once) what the stream held back at the end.
func Generate(j GenerateJob, onText func(string) error) (*Generated, error) {
	if err := j.Options.Validate(); err != nil { // before loading or printing anything
		return nil, err
	}
	base, err := model.ParseBaseDtype(j.BaseDtype)
	if err != nil {
		return nil, setting.Wrap(err, "generate", "base-dtype", j.BaseDtype, ": %v", err)
	}
	op, err := Open{Model: j.Model, Adapter: j.Adapter, Merge: j.Merge, Tokenizer: true, Base: base}.Load()
	if err != nil {
		return nil, err
	}
	tok, opt := op.Tokenizer, j.Options
	stops, err := generate.StopIDsFromModelDir(op.Dir)
	if err != nil {
		return nil, err
	}
	opt.StopIDs = append(append([]int(nil), opt.StopIDs...), stops...)
	if eos := tok.EOS(); eos >= 0 {
		opt.StopIDs = append(opt.StopIDs, eos)
	}
	prompt := tok.Encode(j.Prompt, !j.Rendered)
	if err := generate.Check(op.Model.Config, prompt, opt); err != nil {
		return nil, err
	}
	ts := generate.NewTextStream(tok, prompt)
	var onStep generate.StepFunc
	if onText != nil {
		if err := onText(ts.Text()); err != nil {
			return nil, err
		}
		onStep = func(id int, _ []float32) error { return onText(ts.Add(id)) }
	}
	res, err := generate.Generate(op.Model, prompt, opt, onStep)
	if err != nil {
		return nil, err
	}
	if onText != nil {
		if err := onText(ts.Flush()); err != nil {
			return nil, err
		}
	}
	return &Generated{IDs: res.IDs, Text: tok.Decode(res.IDs, true)}, nil
}
