package jobs

import (
	"fmt"

	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// ForwardJob runs a model on input_ids (and labels) from a safetensors file and writes logits,
// the loss, hidden states and adapter gradients: the porting and debugging job.
type ForwardJob struct {
	Model   string // model argument (see ModelDir)
	Adapter string // adapter folder applied unmerged, "" for none
	Input   string // safetensors with int64 input_ids (batch, seq) and optional labels
	Out     string // safetensors to write
	Hidden  bool   // also write hidden_states.0 … hidden_states.L
	Grads   bool   // also write grad.<key> for every adapter tensor (needs an adapter and labels)
}

// Forward runs j and returns a one-line summary of what it wrote.
func Forward(j ForwardJob) (string, error) {
	if j.Grads && j.Adapter == "" {
		return "", fmt.Errorf("gradients are written for adapter tensors: give an adapter")
	}
	op, err := Open{Model: j.Model, Adapter: j.Adapter}.Load()
	if err != nil {
		return "", err
	}
	m, ad := op.Model, op.Adapter
	in, err := safetensors.Open(j.Input)
	if err != nil {
		return "", err
	}
	defer in.Close()
	ids, B, T, err := readTokens(in, j.Input, "input_ids")
	if err != nil {
		return "", err
	}
	var labels []int
	if in.Info("labels") != nil {
		var lb, lt int
		if labels, lb, lt, err = readTokens(in, j.Input, "labels"); err != nil {
			return "", err
		}
		if lb != B || lt != T {
			return "", fmt.Errorf("%s: labels has shape [%d %d], expected [%d %d] like input_ids", j.Input, lb, lt, B, T)
		}
	}
	if j.Grads && labels == nil {
		return "", fmt.Errorf("%s: adapter gradients need a labels tensor (batch, seq) beside input_ids", j.Input)
	}
	res, err := m.Forward(ids, B, T, j.Hidden)
	if err != nil {
		return "", err
	}
	c := m.Config
	tensors := []safetensors.Tensor{safetensors.FromFloat32("logits", []int{B, T, c.VocabSize}, res.Logits)}
	msg := fmt.Sprintf("logits [%d %d %d]", B, T, c.VocabSize)
	if labels != nil {
		loss, err := model.Loss(res.Logits, labels, B, T, c.VocabSize)
		if err != nil {
			return "", fmt.Errorf("%s: %w", j.Input, err)
		}
		tensors = append(tensors, safetensors.FromFloat32("loss", []int{1}, []float32{float32(loss)}))
		msg += fmt.Sprintf(", loss %.6g", loss)
	}
	for i, h := range res.Hidden {
		tensors = append(tensors, safetensors.FromFloat32(fmt.Sprintf("hidden_states.%d", i), []int{B, T, c.HiddenSize}, h))
	}
	if j.Hidden {
		msg += fmt.Sprintf(", hidden_states.0..%d", len(res.Hidden)-1)
	}
	if j.Grads {
		ad.ZeroGrad()
		if _, err := m.ForwardBackward(ids, labels, B, T); err != nil {
			return "", fmt.Errorf("%s: %w", j.Input, err)
		}
		ps := ad.Params()
		for _, p := range ps {
			tensors = append(tensors, safetensors.FromFloat32("grad."+p.Key, p.Shape, p.G))
		}
		msg += fmt.Sprintf(", %d adapter gradients", len(ps))
	}
	if err := safetensors.WriteFile(j.Out, tensors, nil); err != nil {
		return "", err
	}
	return msg, nil
}

// readTokens reads an int64 (batch, seq) tensor as ints.
func readTokens(f *safetensors.File, path, name string) ([]int, int, int, error) {
	v, info, err := f.Int64(name)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(info.Shape) != 2 {
		return nil, 0, 0, fmt.Errorf("%s: %s has shape %v, expected (batch, seq)", path, name, info.Shape)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out, info.Shape[0], info.Shape[1], nil
}
