package generate

import (
	"fmt"
	"math"

	"github.com/moslora/moslora/model"
)

// Check validates a generation before any work (the CLI calls it before printing anything):
// options, a non-empty prompt of in-vocabulary ids that leaves room under the model's position
// limit.
func Check(c *model.Config, prompt []int, opt Options) error {
	if opt.MaxNewTokens <= 0 {
		return fmt.Errorf("generate: --max-new-tokens %d: expected a number ≥ 1", opt.MaxNewTokens)
	}
	if err := opt.Validate(); err != nil {
		return err
	}
	if len(prompt) == 0 {
		return fmt.Errorf("generate: empty prompt (encode with special tokens to start from BOS)")
	}
	for i, id := range prompt {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("generate: prompt token %d at %d is outside the model's vocabulary [0, %d)", id, i, c.VocabSize)
		}
	}
	if limit := PositionLimit(c); limit > 0 && len(prompt) >= limit {
		return fmt.Errorf("generate: the prompt has %d tokens and leaves no room in the model's %d positions (max_position_embeddings)", len(prompt), limit)
	}
	return nil
}

// PositionLimit is the number of positions the model was built for (max_position_embeddings or
// GPT-2's n_positions; 0 when the config declares none). Generation stops there.
func PositionLimit(c *model.Config) int {
	return max(c.MaxPositionEmbeddings, 0)
}

// checkLogits returns an error naming the first NaN or ±Inf in the logits predicting position pos.
func checkLogits(logits []float32, pos int) error {
	for v, x := range logits {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("generate: the model's logits hold %v at position %d, vocabulary id %d: the model or adapter weights are not finite", x, pos, v)
		}
	}
	return nil
}
