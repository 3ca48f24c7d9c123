package eval

import (
	"fmt"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
)

// ModelLM adapts a *model.Model (with whatever adapter is attached) to LM.
type ModelLM struct{ M *model.Model }

// Logits runs an inference forward pass.
func (l ModelLM) Logits(ids []int, b, t int) ([]float32, error) {
	out, err := l.M.Forward(ids, b, t, false)
	if err != nil {
		return nil, err
	}
	return out.Logits, nil
}

// Files names what EvaluateFiles loads.
type Files struct {
	ModelDir   string // Hugging Face model folder (weights, config, tokenizer)
	AdapterDir string // PEFT adapter folder, "" for the base model
	Data       string // JSONL rows
	SkipBad    bool   // skip bad lines instead of failing
}

// EvaluateFiles loads the model (and adapter), the tokenizer from the model folder and the rows,
// and evaluates them. It returns the number of skipped lines too.
func EvaluateFiles(f Files, opt Options) (*Report, int, error) {
	rows, skipped, err := data.ReadFile(f.Data, f.SkipBad)
	if err != nil {
		return nil, skipped, err
	}
	if len(rows) == 0 {
		return nil, skipped, fmt.Errorf("eval: %s holds no rows", f.Data)
	}
	tok, err := tokenizer.Load(f.ModelDir)
	if err != nil {
		return nil, 0, err
	}
	ctok, err := data.WithChatTemplate(tok, f.ModelDir) // chat rows: the model's chat template
	if err != nil {
		return nil, 0, err
	}
	m, err := model.Load(f.ModelDir)
	if err != nil {
		return nil, 0, err
	}
	if f.AdapterDir != "" {
		a, err := adapter.Load(f.AdapterDir, m)
		if err != nil {
			return nil, 0, err
		}
		a.SetTraining(false)
	}
	opt.Pad = tok.EOS()
	rep, err := Evaluate(ModelLM{m}, ctok, rows, opt)
	return rep, skipped, err
}
