package tokenizer

import (
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/allocs"
)

// tokenizerBound: a tokenizer holds its vocabulary and merges a few times over (maps both ways,
// merge ranks, the added-token matcher) plus fixed tables (the byte-level alphabet, regexps).
var tokenizerBound = allocs.Bound{PerByte: 96, Fixed: 4 << 20}

// tinyTokenizers are small tokenizer.json files of each supported kind, the fuzz seeds.
var tinyTokenizers = []string{
	`{"added_tokens": [{"id": 0, "content": "<|endoftext|>", "special": true}], "normalizer": null,
	  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
	  "post_processor": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"},
	  "model": {"type": "BPE", "vocab": {"<|endoftext|>": 0, "a": 1, "b": 2, "ab": 3, "Ġ": 4}, "merges": ["a b"]}}`,
	`{"added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true}],
	  "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
	  "pre_tokenizer": null,
	  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
	  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
	  "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "▁": 2, "a": 3, "▁a": 4, "<0x41>": 5}, "merges": [["▁", "a"]], "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true}}`,
	`{"added_tokens": [], "normalizer": {"type": "NFC"},
	  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\p{L}+|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
	  "decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}}`,
}

// FuzzLoad feeds arbitrary bytes to the tokenizer.json loader: it must never panic or allocate
// more than a multiple of its input, nor name Go types in an error; an accepted tokenizer must
// encode and decode text without panicking and give ids inside its vocabulary.
//
//	go test -run '^$' -fuzz FuzzLoad -fuzztime 60s ./tokenizer/
func FuzzLoad(f *testing.F) {
	for _, s := range tinyTokenizers {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var tok *Tokenizer
		var err error
		if aerr := tokenizerBound.Check("build", len(in), func() { tok, err = build("tokenizer.json", in, "", nil) }); aerr != nil {
			t.Fatal(aerr)
		}
		if err != nil {
			if strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "Go value") {
				t.Fatalf("error names Go types: %v", err)
			}
			return
		}
		for _, s := range []string{"", "ab a b", "<|endoftext|> x\n\tÿ日本", "\xff\xfe"} {
			ids := tok.Encode(s, true)
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("%q: id %d outside the vocabulary of %d", s, id, tok.VocabSize())
				}
			}
			tok.Decode(ids, false)
		}
	})
}

// The tiny seed tokenizers load, so the fuzz corpus starts inside the accepted space.
func TestTinyTokenizersLoad(t *testing.T) {
	for i, s := range tinyTokenizers {
		if _, err := build("tokenizer.json", []byte(s), "", nil); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}
