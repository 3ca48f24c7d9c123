package jobs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/hub"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
)

// ModelDir turns a model argument into the model folder to read — the one place where that
// happens. A path that exists is used as it is (nothing is read from the environment); anything
// else is a hub name org/name[@revision], resolved in the Hugging Face cache (hub.Resolve with
// hub.EnvOptions), downloading what is missing with progress to progress (nil: silent).
func ModelDir(ctx context.Context, arg string, progress io.Writer) (string, error) {
	if arg == "" {
		return "", fmt.Errorf("no model given (want a model folder or a hub name org/name)")
	}
	if _, err := os.Stat(arg); err == nil {
		return arg, nil
	}
	opt, err := hub.EnvOptions()
	if err != nil {
		return "", err
	}
	opt.Progress = progress
	return hub.Resolve(ctx, arg, opt)
}

// Open says what to load from a model folder.
type Open struct {
	Model      string // model argument (see ModelDir)
	Adapter    string // adapter folder to attach, "" for none
	Merge      bool   // merge the adapter into the base weights (identity, dense, global mixers)
	Tokenizer  bool   // load the tokenizer too
	InitRandom bool   // ignore the weights: random initialisation from config.json (seeded by Seed)
	Seed       int64
	Base       model.BaseDtype // storage of the frozen base's matrices (model.LoadOptions)
}

// Opened is a model folder loaded once.
type Opened struct {
	Dir       string               // the resolved model folder
	Model     *model.Model         //
	Tokenizer *tokenizer.Tokenizer // nil unless asked for
	Encoder   data.Tokenizer       // the tokenizer with the model's chat template, for data rows
	Adapter   *adapter.Adapter     // nil unless asked for
}

// Load reads what o asks for: the tokenizer, then the model, then the adapter.
func (o Open) Load() (*Opened, error) {
	if o.Merge && o.Adapter == "" {
		return nil, fmt.Errorf("merging needs an adapter")
	}
	dir, err := ModelDir(context.Background(), o.Model, nil)
	if err != nil {
		return nil, err
	}
	if err := model.CheckDir(dir); err != nil { // a file or a folder without config.json: say what is expected
		return nil, err
	}
	op := &Opened{Dir: dir}
	if o.Tokenizer {
		if op.Tokenizer, err = tokenizer.Load(dir); err != nil {
			return nil, err
		}
		if op.Encoder, err = data.WithChatTemplate(op.Tokenizer, dir); err != nil { // chat rows
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
	} else if op.Model, err = model.LoadWith(dir, model.LoadOptions{Base: o.Base}); err != nil {
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
