package model

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
)

// checkCachedMatchesUncached feeds a prompt in one call, then the rest one token at a time, and
// compares every step's logits with the uncached forward over the whole sequence: within
// tolLogits under float32 compute (decode rows take the small-m GEMM path), bit for bit under
// bf16 compute (every bf16 product gives a row its own bits, attention's included).
func checkCachedMatchesUncached(t *testing.T, m *Model, ids []int, prompt int) {
	t.Helper()
	V, T := m.Config.VocabSize, len(ids)
	full, err := m.Forward(ids, 1, T, false)
	if err != nil {
		t.Fatal(err)
	}
	kc := m.NewKVCache(T)
	worst := 0.0
	for p := 0; p < T; {
		n := 1
		if p == 0 {
			n = prompt
		}
		got, err := m.ForwardCached(ids[p:p+n], kc)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := maxAbsDiff(got, full.Logits[p*V:(p+n)*V])
		worst = max(worst, d)
		if !(d <= tolLogits) {
			t.Errorf("positions %d..%d: cached logits differ by %.3g", p, p+n-1, d)
		}
		if m.Compute() == ComputeBF16 && !numtest.SameBits(got, full.Logits[p*V:(p+n)*V]) {
			t.Errorf("positions %d..%d: under bf16 compute, cached logits differ from the forward's by %.3g", p, p+n-1, d)
		}
		p += n
	}
	if kc.Len != T {
		t.Errorf("cache holds %d tokens, expected %d", kc.Len, T)
	}
	if _, err := m.ForwardCached(ids[:1], kc); err == nil {
		t.Error("a full cache accepted another token")
	}
	t.Logf("max |Δ| cached vs uncached over %d positions: %.3g", T, worst)
}

func TestCachedForwardMatchesUncached(t *testing.T) {
	smallAttnBlocks(t) // the uncached reference then runs blocked attention
	for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3", "llama-bf16", "mistral-bf16", "gpt2-bf16", "gemma3-bf16"} {
		t.Run("tiny-"+fam, func(t *testing.T) {
			fam, bf16 := strings.CutSuffix(fam, "-bf16")
			m := tinyModel(t, fam)
			if bf16 { // every product of both paths, attention's included, on bf16 inputs
				m.SetCompute(ComputeBF16)
			}
			r := rand.New(rand.NewSource(2))
			attachLoRA(m, r, 2) // adapters apply in the cached path too
			ids, _ := tinyBatch(r, m.Config.VocabSize, 1, 8)
			checkCachedMatchesUncached(t, m, ids, 3)
		})
	}
	// gemma3's fixture has sliding_window 8: 40 positions run far past it in both paths.
	for _, fam := range []string{"llama3", "gpt2", "qwen3", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			m, err := Load(filepath.Join(shared.Path(t, "fixtures", "hf", fam), "model"))
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]int, 40)
			for i := range ids {
				ids[i] = (i*37 + 5) % m.Config.VocabSize
			}
			checkCachedMatchesUncached(t, m, ids, 5)
		})
	}
	// base-19m, the base model alone: with an adapter attached, its float32 x·Aᵀ takes the GEMM's
	// small-m path for a single decoded row (as under float32 compute), and the bf16 rounding
	// of the next product turns that last-bit difference into one of bf16 size.
	t.Run("base-19m-bf16", func(t *testing.T) {
		m, err := Load(shared.Path(t, "models", "base-19m"))
		if err != nil {
			t.Fatal(err)
		}
		m.SetCompute(ComputeBF16)
		ids := make([]int, 70) // past one 64-row attention block
		for i := range ids {
			ids[i] = (i*131 + 7) % m.Config.VocabSize
		}
		checkCachedMatchesUncached(t, m, ids, 9)
	})
}
