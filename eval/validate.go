package eval

import (
	"fmt"
	"math"
)

// Validate checks the options a user sets; errors name the flag and the values it accepts.
func (o Options) Validate() error {
	for _, v := range []struct {
		flag string
		n    int
		what string
	}{
		{"limit", o.Limit, "0 for all rows"},
		{"batch-tokens", o.BatchTokens, "0 for the default of 2048"},
		{"max-len", o.MaxLen, "0 for no limit"},
	} {
		if v.n < 0 {
			return fmt.Errorf("eval: --%s %d: expected a number ≥ 0 (%s)", v.flag, v.n, v.what)
		}
	}
	if o.MaxLen == 1 {
		return fmt.Errorf("eval: --max-len 1: expected 0 (no limit) or at least 2 (a token and the one it predicts)")
	}
	return nil
}

// checkFinite returns an error naming the first NaN or ±Inf logit of a (B, T, vocab) batch among
// each sequence's first lens[b] positions (padding is never scored, so it is not checked).
func checkFinite(logits []float32, T, vocab int, lens []int) error {
	for b, n := range lens {
		for t := 0; t < n; t++ {
			row := logits[(b*T+t)*vocab : (b*T+t+1)*vocab]
			for v, x := range row {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("eval: the model's logits hold %v at sequence %d of the batch, position %d, vocabulary id %d: the model or adapter weights are not finite (check them with `moslora inspect`, or retrain with a lower --lr)", x, b, t, v)
				}
			}
		}
	}
	return nil
}
