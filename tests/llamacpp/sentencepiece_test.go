package llamacpp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/internal/tinymodel"
	"github.com/moslora/moslora/tokenizer"
)

// TestLlamaCppTokenizesSentencePieceStyleLikeUs: a byte-fallback BPE tokenizer exported as
// tokenizer.ggml.model "llama" (scores from merge ranks) tokenizes every text of its reference
// cases in llama.cpp as we (and Hugging Face) do: the Llama 2 tokenizer and a small one trained
// with Hugging Face tokenizers.
func TestLlamaCppTokenizesSentencePieceStyleLikeUs(t *testing.T) {
	llamaCpp(t)
	names := []string{"llama2", "small_sentencepiece_bytefallback"}
	var jobs []job
	var texts [][]string
	var toks []*tokenizer.Tokenizer
	tmp := t.TempDir()
	for _, n := range names {
		tokDir := shared.Path(t, "fixtures", "hf", "tokenizers", n)
		dir := tinymodel.WithTokenizer(t, tokDir, 3)
		tok, err := tokenizer.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(tokDir, "cases.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &cases); err != nil {
			t.Fatal(err)
		}
		var tx []string
		for _, c := range cases {
			if c.Text != "" {
				tx = append(tx, c.Text)
			}
		}
		out := filepath.Join(tmp, n+".gguf")
		if _, err := export.GGUFModel(out, dir, export.OutF16, false, nil); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job{Model: out, Tokenize: tx})
		texts = append(texts, tx)
		toks = append(toks, tok)
	}
	for i, r := range run(t, jobs) {
		same := 0
		for k, text := range texts[i] {
			want := toks[i].Encode(text, false)
			if equal(r.Tokenize[k], want) {
				same++
				continue
			}
			t.Errorf("%s: text %d %.40q…: llama.cpp %v, ours %v", names[i], k, text, r.Tokenize[k][:min(len(r.Tokenize[k]), 12)], want[:min(len(want), 12)])
		}
		t.Logf("%s: %d of %d texts tokenized identically", names[i], same, len(texts[i]))
	}
}
