package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// tokenizerCase is one entry of fixtures/hf/tokenizers/*/cases.json (Hugging Face tokenizers).
type tokenizerCase struct {
	Text           string   `json:"text"`
	IDs            []int    `json:"ids"`
	Tokens         []string `json:"tokens"`
	IDsWithSpecial []int    `json:"ids_with_special"`
	Decoded        string   `json:"decoded"`
}

// TestTokenizeCommandMatchesHuggingFace drives `moslora tokenize --json` (with and without
// --special) and `--file F --jsonl` on the small byte-level fixture and compares with the cases
// Hugging Face tokenizers produced.
func TestTokenizeCommandMatchesHuggingFace(t *testing.T) {
	dir := shared.Path(t, "fixtures", "hf", "tokenizers", "small_bytelevel")
	var cases []tokenizerCase
	shared.ReadJSON(t, filepath.Join(dir, "cases.json"), &cases)
	tokJSON := filepath.Join(dir, "tokenizer.json")
	type result struct {
		IDs     []int    `json:"ids"`
		Tokens  []string `json:"tokens"`
		Decoded string   `json:"decoded"`
	}
	var lines []string
	for i, c := range cases[:min(len(cases), 12)] {
		if c.Text == "" {
			continue
		}
		out, err := runCLI(t, "tokenize", "--model", tokJSON, "--json", c.Text)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var got result
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("case %d: output is not one JSON object: %v\n%s", i, err, out)
		}
		if !reflect.DeepEqual(got.IDs, c.IDs) || !reflect.DeepEqual(got.Tokens, c.Tokens) || got.Decoded != c.Decoded {
			t.Errorf("case %d %q: got %+v, want ids %v tokens %q decoded %q", i, c.Text, got, c.IDs, c.Tokens, c.Decoded)
		}
		out, err = runCLI(t, "tokenize", "--model", tokJSON, "--json", "--special", c.Text)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || !reflect.DeepEqual(got.IDs, c.IDsWithSpecial) {
			t.Errorf("case %d --special: got %v (%v), want %v", i, got.IDs, err, c.IDsWithSpecial)
		}
		b, _ := json.Marshal(c.Text)
		lines = append(lines, string(b))
	}
	file := filepath.Join(t.TempDir(), "texts.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "tokenize", "--model", tokJSON, "--file", file, "--jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(strings.TrimSpace(out), "\n") + 1; got != len(lines) {
		t.Errorf("--jsonl printed %d lines for %d inputs", got, len(lines))
	}
	if _, err := runCLI(t, "tokenize", "--model", filepath.Join(t.TempDir(), "missing"), "x"); err == nil {
		t.Error("a missing tokenizer path gave no error")
	}
}
