package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// hfCase is one entry of cases.json, produced by Hugging Face tokenizers.
type hfCase struct {
	Text           string   `json:"text"`
	IDs            []int    `json:"ids"`
	Tokens         []string `json:"tokens"`
	IDsWithSpecial []int    `json:"ids_with_special"`
	Decoded        string   `json:"decoded"`
}

// fixtureTokenizers are the folders of fixtures/hf/tokenizers; every one must be present.
var fixtureTokenizers = []string{"llama2", "llama3", "qwen3", "gpt2", "small_bytelevel", "small_sentencepiece_bytefallback"}

func readCases(t *testing.T, dir string) []hfCase {
	t.Helper()
	var cases []hfCase
	shared.ReadJSON(t, filepath.Join(dir, "cases.json"), &cases)
	if len(cases) == 0 {
		t.Fatalf("%s: cases.json holds no cases", dir)
	}
	return cases
}

// TestMatchesHuggingFaceCases checks ids, tokens, ids with special tokens and the decoded text of
// every case against Hugging Face tokenizers.
func TestMatchesHuggingFaceCases(t *testing.T) {
	root := shared.Path(t, "fixtures", "hf", "tokenizers")
	for _, name := range fixtureTokenizers {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			cases := readCases(t, dir)
			pass := 0
			for i, c := range cases {
				ok := true
				ids, toks := tok.EncodeWithTokens(c.Text, false)
				if !slices.Equal(ids, c.IDs) {
					t.Errorf("case %d %q: ids\n got  %v\n want %v", i, short(c.Text), ids, c.IDs)
					ok = false
				}
				if !slices.Equal(toks, c.Tokens) {
					t.Errorf("case %d %q: tokens\n got  %q\n want %q", i, short(c.Text), toks, c.Tokens)
					ok = false
				}
				if got := tok.Encode(c.Text, true); !slices.Equal(got, c.IDsWithSpecial) {
					t.Errorf("case %d %q: ids_with_special\n got  %v\n want %v", i, short(c.Text), got, c.IDsWithSpecial)
					ok = false
				}
				if got := tok.Decode(c.IDs, false); got != c.Decoded {
					t.Errorf("case %d %q: decoded\n got  %q\n want %q", i, short(c.Text), got, c.Decoded)
					ok = false
				}
				if ok {
					pass++
				}
			}
			t.Logf("%s: %d/%d cases match Hugging Face (ids, tokens, ids_with_special, decoded)", name, pass, len(cases))
		})
	}
}

func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// TestBaseModelPromptIDs checks that the base-19m tokenizer reproduces the input_ids of the greedy
// generation references (prompt encoded with special tokens).
func TestBaseModelPromptIDs(t *testing.T) {
	model := shared.Path(t, "models", "base-19m")
	greedy := shared.Path(t, "fixtures", "hf", "base", "greedy.json")
	tok, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(greedy)
	if err != nil {
		t.Fatal(err)
	}
	var refs []struct {
		Prompt   string `json:"prompt"`
		InputIDs []int  `json:"input_ids"`
	}
	if err := json.Unmarshal(data, &refs); err != nil {
		t.Fatalf("%s: %v", greedy, err)
	}
	if len(refs) == 0 {
		t.Fatalf("%s: no prompts", greedy)
	}
	for _, r := range refs {
		if got := tok.Encode(r.Prompt, tok.AddBOS()); !slices.Equal(got, r.InputIDs) {
			t.Errorf("prompt %q:\n got  %v\n want %v", r.Prompt, got, r.InputIDs)
		}
	}
	t.Logf("%d prompts checked", len(refs))
}
