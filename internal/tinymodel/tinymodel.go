// Package tinymodel builds, for tests, complete model folders from the tiny Hugging Face fixtures
// (fixtures/hf/<family>/model), which carry no tokenizer: it adds a synthetic byte-level BPE
// tokenizer of the model's vocabulary size. Only tests import it.
package tinymodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
)

// Pre-tokenizers as tokenizer.json writes them: GPT-2's ByteLevel with its built-in regex, and
// Qwen2's Split regex before a regex-free ByteLevel.
const (
	PreGPT2  = `{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}`
	PreQwen2 = `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]}`
)

// Folder copies fixtures/hf/<family>/model into a temp folder and writes a tokenizer.json there:
// the 256 byte symbols, then merges "Ġ" + symbol until the model's vocab_size; pre is the
// pre-tokenizer JSON. It skips the test when ../shared is absent.
func Folder(t testing.TB, family, pre string) string {
	t.Helper()
	src := shared.Path(t, "fixtures", "hf", family, "model")
	dir := t.TempDir()
	for _, n := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := model.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var syms []string
	for b := 0; b < 256; b++ {
		syms = append(syms, byteSymbol(byte(b)))
	}
	vocab := map[string]int{}
	for i, s := range syms {
		vocab[s] = i
	}
	var merges [][2]string
	for i := 0; len(vocab) < cfg.VocabSize; i++ {
		m := [2]string{"Ġ", syms[33+i]}
		vocab[m[0]+m[1]] = len(vocab)
		merges = append(merges, m)
	}
	v, _ := json.Marshal(vocab)
	mg, _ := json.Marshal(merges)
	tj := fmt.Sprintf(`{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": %s,
		"post_processor": null, "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": {"type": "BPE", "byte_fallback": false, "vocab": %s, "merges": %s}}`, pre, v, mg)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tj), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// printable reports the bytes GPT-2's bytes_to_unicode maps to themselves.
func printable(b byte) bool { return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || b >= 0xae }

// byteSymbol is GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to
// 256 + their rank among the unprintable ones.
func byteSymbol(b byte) string {
	if printable(b) {
		return string(rune(b))
	}
	n := 0
	for c := 0; c < int(b); c++ {
		if !printable(byte(c)) {
			n++
		}
	}
	return string(rune(256 + n))
}
