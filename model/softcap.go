package model

import "math"

// softcapRows applies final logit softcapping (Gemma) in place to the n rows of x (n, V),
//
//	y = cap·tanh(x/cap)
//
// in float32 steps as transformers does (x/cap, tanh, ·cap). With t (same shape) it also keeps
// tanh(x/cap) for the backward pass (softcapBackward). Nothing happens when cap is 0.
func softcapRows(x, t []float32, cap float32, n int) {
	if cap == 0 {
		return
	}
	V := len(x) / max(n, 1)
	parallelRange(n, 4, func(lo, hi int) {
		for i := lo * V; i < hi*V; i++ {
			th := float32(math.Tanh(float64(x[i] / cap)))
			if t != nil {
				t[i] = th
			}
			x[i] = th * cap
		}
	})
}

// softcapBackward turns the gradient d with respect to the capped logits into the gradient with
// respect to the uncapped ones, in place, from t = tanh(x/cap) that softcapRows kept:
//
//	dx = dy · (1 − t²)
func softcapBackward(d, t []float32) {
	for i, th := range t[:len(d)] {
		d[i] *= 1 - th*th
	}
}
