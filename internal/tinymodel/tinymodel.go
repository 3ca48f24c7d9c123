// Package tinymodel builds, for tests, complete model folders from the tiny Hugging Face fixtures
// (fixtures/hf/<family>/model), which carry no tokenizer: it adds a synthetic byte-level BPE
// tokenizer of the model's vocabulary size. Only tests import it.
package tinymodel

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
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

// WithTokenizer writes a folder with the tiny Llama fixture's shape, the vocabulary size of the
// tokenizer in tokDir (tokenizer.json and tokenizer_config.json, either possibly gzipped, as in
// fixtures/hf/tokenizers) and random weights (seeded): for tests of what a runtime makes of the
// tokenizer, where the model's outputs do not matter.
func WithTokenizer(t testing.TB, tokDir string, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	var vocab int
	for _, n := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := readMaybeGzip(filepath.Join(tokDir, n))
		if err != nil {
			if n == "tokenizer_config.json" {
				continue
			}
			t.Fatal(err)
		}
		if n == "tokenizer.json" {
			var tj struct {
				Model struct {
					Vocab map[string]int `json:"vocab"`
				} `json:"model"`
				Added []struct {
					ID int `json:"id"`
				} `json:"added_tokens"`
			}
			if err := json.Unmarshal(b, &tj); err != nil {
				t.Fatal(err)
			}
			for _, id := range tj.Model.Vocab {
				vocab = max(vocab, id+1)
			}
			for _, a := range tj.Added {
				vocab = max(vocab, a.ID+1)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := shared.Path(t, "fixtures", "hf", "llama", "model", "config.json")
	var cfg map[string]any
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &cfg)
	cfg["vocab_size"] = vocab
	b, _ = json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := model.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.05)
		}
		return v
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	C, I, Q, KV := c.HiddenSize, c.IntermediateSize, c.QDim(), c.KVDim()
	ts := []safetensors.Tensor{safetensors.FromFloat32("model.embed_tokens.weight", []int{vocab, C}, randn(vocab*C)),
		safetensors.FromFloat32("model.norm.weight", []int{C}, ones(C))}
	if !c.Tied {
		ts = append(ts, safetensors.FromFloat32("lm_head.weight", []int{vocab, C}, randn(vocab*C)))
	}
	for l := range c.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", l)
		for _, w := range []struct {
			name  string
			shape []int
		}{{"self_attn.q_proj.weight", []int{Q, C}}, {"self_attn.k_proj.weight", []int{KV, C}}, {"self_attn.v_proj.weight", []int{KV, C}},
			{"self_attn.o_proj.weight", []int{C, Q}}, {"mlp.gate_proj.weight", []int{I, C}}, {"mlp.up_proj.weight", []int{I, C}},
			{"mlp.down_proj.weight", []int{C, I}}} {
			ts = append(ts, safetensors.FromFloat32(p+w.name, w.shape, randn(w.shape[0]*w.shape[1])))
		}
		ts = append(ts, safetensors.FromFloat32(p+"input_layernorm.weight", []int{C}, ones(C)),
			safetensors.FromFloat32(p+"post_attention_layernorm.weight", []int{C}, ones(C)))
	}
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := safetensors.Write(f, ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readMaybeGzip(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
	}
	f, err := os.Open(path + ".gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
