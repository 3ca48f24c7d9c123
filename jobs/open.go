package jobs

import (
	"fmt"
	"path/filepath"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
)

// resolve turns a model argument into a local folder. Today the argument is the folder; a hub
// resolver (model names → the Hugging Face cache) replaces this one function.
var resolve = func(arg string) (string, error) { return arg, nil }

// ModelDir turns a --model argument into the model folder to read: the one place a model name is
// resolved.
func ModelDir(arg string) (string, error) {
	if arg == "" {
		return "", fmt.Errorf("no model given (want a model folder)")
	}
	return resolve(arg)
}

// Open says what to load from a model folder.
type Open struct {
	Model      string // model argument (see ModelDir)
	Adapter    string // adapter folder to attach, "" for none
	Merge      bool   // merge the adapter into the base weights (identity, dense, global mixers)
	Tokenizer  bool   // load the tokenizer too
	InitRandom bool   // ignore the weights: random initialisation from config.json (seeded by Seed)
	Seed       int64
}

// Opened is a model folder loaded once.
type Opened struct {
	Dir       string               // the resolved model folder
	Model     *model.Model         //
	Tokenizer *tokenizer.Tokenizer // nil unless asked for
	Adapter   *adapter.Adapter     // nil unless asked for
}

// Load reads what o asks for: the tokenizer, then the model, then the adapter.
func (o Open) Load() (*Opened, error) {
	if o.Merge && o.Adapter == "" {
		return nil, fmt.Errorf("merging needs an adapter")
	}
	dir, err := ModelDir(o.Model)
	if err != nil {
		return nil, err
	}
	op := &Opened{Dir: dir}
	if o.Tokenizer {
		if op.Tokenizer, err = tokenizer.Load(dir); err != nil {
			return nil, err
		}
	}
	if o.InitRandom {
		mc, err := model.LoadConfig(filepath.Join(dir, "config.json"))
		if err != nil {
			return nil, err
		}
		if op.Model, err = model.NewRandom(mc, o.Seed); err != nil {
			return nil, err
		}
	} else if op.Model, err = model.Load(dir); err != nil {
		return nil, err
	}
	if o.Adapter != "" {
		if op.Adapter, err = adapter.Load(o.Adapter, op.Model); err != nil {
			return nil, err
		}
		if o.Merge {
			if err := op.Adapter.Merge(); err != nil {
				return nil, err
			}
		}
	}
	return op, nil
}

// Pad is the pad id for batching: the tokenizer's pad token when the model has it, else EOS.
func (op *Opened) Pad() int {
	pad := op.Tokenizer.PAD()
	if pad < 0 || pad >= op.Model.Config.VocabSize {
		pad = op.Tokenizer.EOS()
	}
	return pad
}
