package eval

import (
	"github.com/moslora/moslora/model"
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
