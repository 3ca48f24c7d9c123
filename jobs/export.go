package jobs

import (
	"fmt"

	"github.com/moslora/moslora/export"
)

// MergeJob writes a model folder with an adapter merged into the base weights (export.Merged).
type MergeJob struct {
	Model, Adapter, Out string
	Force               bool // replace Out if it exists
}

// Merged describes what a MergeJob wrote.
type Merged struct {
	Modules int    // adapted modules merged
	Mixer   string // the adapter's mixer
	DType   string // dtype of the written weights (the base checkpoint's)
}

// Merge runs j.
func Merge(j MergeJob) (*Merged, error) {
	op, err := Open{Model: j.Model, Adapter: j.Adapter}.Load()
	if err != nil {
		return nil, err
	}
	if err := export.Merged(j.Out, op.Dir, op.Model, op.Adapter, j.Force); err != nil {
		return nil, err
	}
	return &Merged{Modules: len(op.Adapter.Linears), Mixer: op.Adapter.Config.MixerKind(), DType: op.Model.Config.WeightDType}, nil
}

// Export formats.
var ExportFormats = []string{"peft", "peft-moslora", "gguf"}

// ExportJob writes an adapter for other runtimes: "peft" (stock PEFT LoRA, mixer folded),
// "peft-moslora" (the official MoSLoRA form, dense mixers) or "gguf" (a llama.cpp LoRA adapter).
type ExportJob struct {
	Model, Adapter, Format, Out string
	Force                       bool // replace Out if it exists
}

// Export runs j and returns the number of modules written.
func Export(j ExportJob) (int, error) {
	var write func(op *Opened) error
	switch j.Format {
	case "peft":
		write = func(op *Opened) error { return export.PEFT(j.Out, op.Adapter, j.Force) }
	case "peft-moslora":
		write = func(op *Opened) error { return export.PEFTMoSLoRA(j.Out, op.Adapter, j.Force) }
	case "gguf":
		write = func(op *Opened) error { return export.GGUF(j.Out, op.Model, op.Adapter, j.Force) }
	default:
		return 0, fmt.Errorf("export format %q: expected peft, peft-moslora or gguf", j.Format)
	}
	op, err := Open{Model: j.Model, Adapter: j.Adapter}.Load()
	if err != nil {
		return 0, err
	}
	if err := write(op); err != nil {
		return 0, err
	}
	return len(op.Adapter.Linears), nil
}
