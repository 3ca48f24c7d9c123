package main

import (
	"bytes"
	"encoding/json"
	"os"
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
	b, err := os.ReadFile(filepath.Join(shared.Path(t, "fixtures", "hf", "base"), "greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Prompt     string `json:"prompt"`
		InputIDs   []int  `json:"input_ids"`
		GreedyIDs  []int  `json:"greedy_ids"`
		GreedyText string `json:"greedy_text"`
	}
	if err := json.Unmarshal(b, &cases); err != nil || len(cases) == 0 {
		t.Fatalf("greedy.json: %v (%d cases)", err, len(cases))
	}
	c := cases[0]
	n := len(c.GreedyIDs) - len(c.InputIDs)
	var out bytes.Buffer
	resetFlagsAfter(t, "generate")
	rootCmd.SetOut(&out)
	defer rootCmd.SetOut(nil)
	args := []string{"generate", "--model", dir, "--max-new-tokens", itoa(n)}
	rootCmd.SetArgs(append(args, "--json", c.Prompt))
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var got struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("--json output %q: %v", out.String(), err)
	}
	if !slices.Equal(got.IDs, c.GreedyIDs) || got.Text != c.GreedyText {
		t.Errorf("generate --json: %v %q\nwant %v %q", got.IDs, got.Text, c.GreedyIDs, c.GreedyText)
	}
	out.Reset()
	rootCmd.SetArgs(append(args, "--json=false", c.Prompt))
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.String() != c.GreedyText+"\n" {
		t.Errorf("streamed %q, want %q", out.String(), c.GreedyText+"\n")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
