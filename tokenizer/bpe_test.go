package tokenizer

import (
	"slices"
	"testing"
)

// TestMergeAllMatchesNaiveMerge checks the heap-based merge (with its stale-candidate rule) against
// the quadratic reference on every word the pre-tokenizers produce from corpus text, and on whole
// lines for the tokenizers without a pre-tokenizer (long words exercise the heap).
func TestMergeAllMatchesNaiveMerge(t *testing.T) {
	text := corpus(t, "val_lit", 20_000) + corpus(t, "val_code", 20_000)
	for _, name := range []string{"gpt2", "llama3", "llama2", "small_sentencepiece_bytefallback"} {
		tok := fixture(t, name)
		sc := &scratch{}
		words := []string{text[:2000]}
		if tok.pre != nil {
			src := []piece{{text, true}}
			for _, w := range tok.pre.preTokenize(nil, src, sc) {
				words = append(words, w.s)
			}
		} else {
			start := 0
			for i := 0; i < len(text); i++ {
				if text[i] == '\n' {
					words = append(words, tok.normalizer.normalize(text[start:i]))
					start = i + 1
				}
			}
		}
		checked, mismatches := 0, 0
		seen := map[string]bool{}
		for _, w := range words {
			if seen[w] || w == "" {
				continue
			}
			seen[w] = true
			var init []int32
			for _, s := range tok.model.splitWord(nil, w) {
				init = append(init, s.id)
			}
			want := tok.model.naiveMerge(init)
			got := tok.model.mergeWord(nil, w, sc)
			checked++
			if !slices.Equal(got, want) {
				mismatches++
				if mismatches <= 3 {
					t.Errorf("%s: word %q: heap merge %v, naive merge %v", name, short(w), got, want)
				}
			}
		}
		t.Logf("%s: %d distinct words, %d mismatches between heap and naive merge", name, checked, mismatches)
	}
}

// TestCacheDoesNotChangeResults encodes a text twice (cold, then from the cache) and on a fresh
// model without any cache hits, and requires the same ids.
func TestCacheDoesNotChangeResults(t *testing.T) {
	tok := fixture(t, "gpt2")
	text := corpus(t, "val_code", 30_000)
	first := tok.Encode(text, false)
	second := tok.Encode(text, false)
	if !slices.Equal(first, second) {
		t.Fatal("second encode (cached words) differs from the first")
	}
	sc := &scratch{}
	var uncached []int
	for _, w := range tok.pre.preTokenize(nil, []piece{{text, true}}, sc) {
		for _, id := range tok.model.mergeWord(nil, w.s, sc) {
			uncached = append(uncached, int(id))
		}
	}
	if !slices.Equal(first, uncached) {
		t.Fatal("cached encode differs from uncached merging")
	}
	if len(first) == 0 {
		t.Fatal("no tokens")
	}
}

// TestConcurrentEncodeMatchesSequential encodes paragraphs from several goroutines at once (shared
// word cache, pooled scratch buffers) and requires the sequential results.
func TestConcurrentEncodeMatchesSequential(t *testing.T) {
	for _, name := range []string{"gpt2", "llama2"} {
		tok := fixture(t, name)
		docs := documents(corpus(t, "val_code", 60_000))
		want := make([][]int, len(docs))
		for i, d := range docs {
			want[i] = tok.Encode(d, true)
		}
		fresh := variant(t, name, func(map[string]any) {}) // cold caches
		errs := make(chan string, 4)
		for g := 0; g < 4; g++ {
			go func(g int) {
				bad := ""
				for k := range docs {
					i := (k*7 + g*13) % len(docs)
					if got := fresh.Encode(docs[i], true); !slices.Equal(got, want[i]) && bad == "" {
						bad = short(docs[i])
					}
				}
				errs <- bad
			}(g)
		}
		for g := 0; g < 4; g++ {
			if bad := <-errs; bad != "" {
				t.Errorf("%s: concurrent encode of %q differs from sequential", name, bad)
			}
		}
	}
}

// TestSafeSplitDoesNotChangeResults: cutting Llama 2 words before ▁ runs (findSafeSplit) gives the
// same ids as merging each whole normalized paragraph; the small SentencePiece tokenizer has a merge
// across such a cut ("e ▁") and must not cut.
func TestSafeSplitDoesNotChangeResults(t *testing.T) {
	if fixture(t, "small_sentencepiece_bytefallback").model.splitBefore != "" {
		t.Error("small_sentencepiece_bytefallback merges e+▁, yet words are cut before ▁")
	}
	cut := fixture(t, "llama2")
	if cut.model.splitBefore == "" {
		t.Fatal("llama2: expected words to be cut before ▁ (no merge crosses the cut)")
	}
	whole := variant(t, "llama2", func(map[string]any) {})
	whole.model.splitBefore = ""
	docs := documents(corpus(t, "val_lit", 40_000) + corpus(t, "val_code", 40_000))
	for _, d := range docs {
		if got, want := cut.Encode(d, false), whole.Encode(d, false); !slices.Equal(got, want) {
			t.Fatalf("paragraph %q: cut words give %v, whole words %v", short(d), got, want)
		}
	}
	t.Logf("%d paragraphs identical", len(docs))
}
