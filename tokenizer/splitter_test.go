package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// trickyRunes mixes every class the known patterns distinguish: ASCII and Unicode letters, marks,
// digits of several kinds, each kind of whitespace (\r, \n, NBSP, ideographic space, ...),
// punctuation, symbols, apostrophes before contraction letters, emoji and joiners. ſ (U+017F) is
// left out: Oniguruma's (?i) folds it to s while regexp2 (.NET) does not, and the hand-written
// splitters follow Oniguruma.
var trickyRunes = []rune("aZé日本ßİ\u0301\u0300ą0179٣½Ⅻ   \t\n\r\n\u00a0\u3000\u2009\u2028\u0085\v\f.,;:!?'\"'’-_()[]{}<>|/\\@#$%^&*+=~`€😀\u200d👍🏽sStTrReEvVmMlLdD")

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteRune(trickyRunes[rng.IntN(len(trickyRunes))])
	}
	return b.String()
}

// TestHandWrittenSplittersMatchRegexp2 runs the hand-written GPT-2, Llama 3 and Qwen 2 splitters
// and regexp2 (the reference, a backtracking engine with look-ahead) on the fixture texts, corpus
// text and random strings of tricky runes, and requires identical matches.
func TestHandWrittenSplittersMatchRegexp2(t *testing.T) {
	texts := caseTexts(t)
	texts = append(texts, corpus(t, "val_lit", 100_000), corpus(t, "val_code", 100_000))
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		texts = append(texts, randomText(rng, 1+rng.IntN(40)))
	}
	for _, pattern := range []string{patternGPT2, patternLlama3, patternQwen2} {
		fast, err := newRegexSplitter(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fast.(regexp2Splitter); ok {
			t.Fatalf("pattern %q has no hand-written splitter", pattern)
		}
		ref, err := newRegexp2Splitter(pattern)
		if err != nil {
			t.Fatal(err)
		}
		mismatches := 0
		for _, s := range texts {
			got, want := fast.findAll(nil, s), ref.findAll(nil, s)
			if !slices.Equal(got, want) {
				mismatches++
				if mismatches <= 3 {
					t.Errorf("pattern %.30q… on %q:\n got  %v\n want %v", pattern, short(s), pieces(s, got), pieces(s, want))
				}
			}
		}
		t.Logf("pattern %.30q…: %d texts, %d mismatches against regexp2", pattern, len(texts), mismatches)
	}
}

func pieces(s string, spans []span) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, s[sp.start:sp.end])
	}
	if len(out) > 12 {
		out = append(out[:12], "…")
	}
	return out
}

// TestSplittersFollowOnigurumaCaseFolding: under (?i), ſ folds to s (Oniguruma), so "'ſ" is a
// contraction for Llama 3 but not for the case-sensitive GPT-2 pattern.
func TestSplittersFollowOnigurumaCaseFolding(t *testing.T) {
	s := "it'ſ"
	if got := pieces(s, (llama3Splitter{maxDigits: 3}).findAll(nil, s)); !slices.Equal(got, []string{"it", "'ſ"}) {
		t.Errorf("llama3 split of %q = %q, want the contraction 'ſ kept whole", s, got)
	}
	if got := pieces(s, gpt2Splitter{}.findAll(nil, s)); slices.Contains(got, "'ſ") {
		t.Errorf("gpt2 split of %q = %q, contraction must be case-sensitive", s, got)
	}
}

// TestSplitBehaviors checks the five delimiter behaviors against their definitions on a literal
// delimiter: the pieces always concatenate back to the input (less the delimiters for Removed).
func TestSplitBehaviors(t *testing.T) {
	sc := &scratch{}
	s := "--a-b--c-"
	pat := stringSplitter{"-"}
	split := func(b splitBehavior, invert bool) []string {
		var out []string
		for _, p := range splitPiece(nil, piece{s: s}, pat, b, invert, sc) {
			out = append(out, p.s)
		}
		return out
	}
	for _, b := range []splitBehavior{behaviorIsolated, behaviorMergedWithPrevious, behaviorMergedWithNext, behaviorContiguous} {
		if got := strings.Join(split(b, false), ""); got != s {
			t.Errorf("behavior %d: pieces join to %q, want %q", b, got, s)
		}
	}
	if got := strings.Join(split(behaviorRemoved, false), ""); got != strings.ReplaceAll(s, "-", "") {
		t.Errorf("Removed: pieces join to %q", got)
	}
	if got := strings.Join(split(behaviorRemoved, true), ""); got != strings.Repeat("-", strings.Count(s, "-")) {
		t.Errorf("Removed+invert keeps only the delimiters, got %q", got)
	}
	for _, p := range split(behaviorMergedWithNext, false) {
		if strings.HasSuffix(p, "-") && p != "-" && strings.Trim(p, "-") != "" {
			t.Errorf("MergedWithNext: piece %q ends with a delimiter", p)
		}
	}
	for _, p := range split(behaviorMergedWithPrevious, false) {
		if strings.HasPrefix(p, "-") && strings.Trim(p, "-") != "" {
			t.Errorf("MergedWithPrevious: piece %q starts with a delimiter", p)
		}
	}
	for _, p := range split(behaviorContiguous, false) {
		if strings.Contains(p, "-") && strings.Trim(p, "-") != "" {
			t.Errorf("Contiguous: piece %q mixes delimiters and text", p)
		}
	}
}
