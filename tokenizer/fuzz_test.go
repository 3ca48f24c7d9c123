package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// byteLevelFixtures are the fixture tokenizers that map every byte to a token, so that
// decode(encode(s)) must give back s (after their normalizer, NFC for qwen3).
var byteLevelFixtures = map[string]bool{"gpt2": true, "llama3": true, "qwen3": true, "small_bytelevel": true}

// FuzzRoundTrip feeds random bytes and random Unicode to every fixture tokenizer: no call may
// panic, every id must name a token, encode with special tokens must wrap encode without them,
// and byte-level tokenizers must decode back to the (normalized) input.
//
//	go test -run '^$' -fuzz FuzzRoundTrip -fuzztime 60s ./tokenizer/
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", " ", "Hello world", "it's  2024!\r\n\tok", "naïve 日本語 👍🏽", "<s>x</s><|endoftext|>", "\xff\xfe a\xc3", "▁▁a<0x0A>"} {
		f.Add(s)
	}
	var toks []*Tokenizer
	var names []string
	for _, name := range fixtureTokenizers {
		toks = append(toks, fixture(f, name))
		names = append(names, name)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, tok := range toks {
			ids, tokens := tok.EncodeWithTokens(s, false)
			if len(ids) != len(tokens) {
				t.Fatalf("%s: %d ids, %d tokens", names[i], len(ids), len(tokens))
			}
			for k, id := range ids {
				if id < 0 || id >= tok.VocabSize() || tok.IDToToken(id) != tokens[k] {
					t.Fatalf("%s: %q: id %d (token %q) out of the vocabulary", names[i], s, id, tokens[k])
				}
			}
			withSpecial := tok.Encode(s, true)
			n := len(tok.postPrefix)
			if len(withSpecial) != n+len(ids)+len(tok.postSuffix) || !slices.Equal(withSpecial[n:n+len(ids)], ids) {
				t.Fatalf("%s: %q: Encode(addSpecial) %v does not wrap Encode %v", names[i], s, withSpecial, ids)
			}
			got := tok.Decode(ids, false)
			tok.Decode(withSpecial, true)
			if !byteLevelFixtures[names[i]] || !utf8.ValidString(s) {
				continue
			}
			want := s
			if tok.normalizer != nil {
				want = tok.normalizer.normalize(s)
			}
			if got != want {
				t.Fatalf("%s: decode(encode(%q)) = %q", names[i], s, got)
			}
		}
	})
}

// FuzzSplitters checks the hand-written splitters against regexp2 on arbitrary valid UTF-8 (ſ
// excepted: Oniguruma folds it to s under (?i), regexp2 does not).
func FuzzSplitters(f *testing.F) {
	for _, s := range []string{"", "it's  2024!\r\n\tok", "  x \u00a0y\n\n z", "ABC'LL'Re 123456 ½Ⅻ"} {
		f.Add(s)
	}
	type pair struct{ fast, ref splitter }
	var pairs []pair
	for _, p := range []string{patternGPT2, patternLlama3, patternQwen2} {
		fast, _ := newRegexSplitter(p)
		ref, err := newRegexp2Splitter(p)
		if err != nil {
			f.Fatal(err)
		}
		pairs = append(pairs, pair{fast, ref})
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 'ſ') {
			return
		}
		for _, p := range pairs {
			if got, want := p.fast.findAll(nil, s), p.ref.findAll(nil, s); !slices.Equal(got, want) {
				t.Fatalf("%q:\n got  %v\n want %v", s, pieces(s, got), pieces(s, want))
			}
		}
	})
}
