package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// TestGenerateCommandGreedyJSON runs `moslora generate --json` on base-19m for the first prompt
// of greedy.json and compares ids and text with transformers' greedy generate; then streams the
// same prompt and checks the printed text.
func TestGenerateCommandGreedyJSON(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	var cases []struct {
		Prompt     string `json:"prompt"`
		InputIDs   []int  `json:"input_ids"`
		GreedyIDs  []int  `json:"greedy_ids"`
		GreedyText string `json:"greedy_text"`
	}
	shared.ReadJSON(t, filepath.Join(shared.Path(t, "fixtures", "hf", "base"), "greedy.json"), &cases)
	if len(cases) == 0 {
		t.Fatal("greedy.json holds no cases")
	}
	c := cases[0]
	n := len(c.GreedyIDs) - len(c.InputIDs)
	args := []string{"generate", "--model", dir, "--max-new-tokens", itoa(n)}
	out, err := runCLI(t, append(args, "--json", c.Prompt)...)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if !slices.Equal(got.IDs, c.GreedyIDs) || got.Text != c.GreedyText {
		t.Errorf("generate --json: %v %q\nwant %v %q", got.IDs, got.Text, c.GreedyIDs, c.GreedyText)
	}
	out, err = runCLI(t, append(args, "--json=false", c.Prompt)...)
	if err != nil {
		t.Fatal(err)
	}
	if out != c.GreedyText+"\n" {
		t.Errorf("streamed %q, want %q", out, c.GreedyText+"\n")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
