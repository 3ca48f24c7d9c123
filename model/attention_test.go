package model

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

// TestRecomputedAttentionMatchesSaved: with attnSaveBytes = 0 the backward pass recomputes the
// attention probabilities instead of reading the saved ones; the loss and every gradient must be
// bitwise the same (probs runs the same products on the same inputs), on several blocks of rows,
// with a sliding window (mistral) and GQA, under float32 and bf16 compute.
func TestRecomputedAttentionMatchesSaved(t *testing.T) {
	smallAttnBlocks(t)
	for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3"} {
		for _, c := range []Compute{ComputeF32, ComputeBF16} {
			t.Run(fam+"-"+string(c), func(t *testing.T) { checkRecomputedAttention(t, fam, c) })
		}
	}
}

func checkRecomputedAttention(t *testing.T, fam string, c Compute) {
	m := tinyModel(t, fam)
	m.SetCompute(c)
	m.EnableFullGrads()
	r := rand.New(rand.NewSource(21))
	B, T := 2, 7
	ids, labels := tinyBatch(r, m.Config.VocabSize, B, T)
	run := func(saveBytes int) (float64, [][]float32, bool) {
		old := attnSaveBytes
		attnSaveBytes = saveBytes
		defer func() { attnSaveBytes = old }()
		m.ZeroGrads()
		loss, err := m.ForwardBackward(ids, labels, B, T)
		if err != nil {
			t.Fatal(err)
		}
		var grads [][]float32
		for _, p := range m.Params() {
			grads = append(grads, slices.Clone(p.DW))
		}
		return loss, grads, m.acts.layers[0].att != nil
	}
	lossS, gradS, saved := run(1 << 30)
	lossR, gradR, savedR := run(0)
	if !saved || savedR {
		t.Fatalf("paths not taken: saved=%v with a large budget, %v with none", saved, savedR)
	}
	if math.Float64bits(lossS) != math.Float64bits(lossR) {
		t.Errorf("loss %v saved, %v recomputed", lossS, lossR)
	}
	for i, p := range m.Params() {
		for j := range gradS[i] {
			if math.Float32bits(gradS[i][j]) != math.Float32bits(gradR[i][j]) {
				t.Fatalf("%s[%d]: gradient %g saved, %g recomputed", p.Name, j, gradS[i][j], gradR[i][j])
			}
		}
	}
	t.Logf("loss %.6f, %d gradients bitwise equal", lossS, len(gradS))
}
