package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// TestGenerateBaseDtype: generate --base-dtype f32 and bf16 on base-19m (a bf16 checkpoint: the
// same bits either way) give transformers' greedy ids; q8 generates as many tokens; an unknown
// value is an error naming the flag, as is one given to serve.
func TestGenerateBaseDtype(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	var cases []struct {
		Prompt    string `json:"prompt"`
		InputIDs  []int  `json:"input_ids"`
		GreedyIDs []int  `json:"greedy_ids"`
	}
	shared.ReadJSON(t, filepath.Join(shared.Path(t, "fixtures", "hf", "base"), "greedy.json"), &cases)
	if len(cases) == 0 {
		t.Fatal("greedy.json holds no cases")
	}
	c := cases[0]
	n := len(c.GreedyIDs) - len(c.InputIDs)
	for _, dt := range []string{"f32", "bf16", "q8"} {
		out, err := runCLI(t, "generate", "--model", dir, "--max-new-tokens", itoa(n), "--base-dtype", dt, "--json", c.Prompt)
		if err != nil {
			t.Fatalf("--base-dtype %s: %v", dt, err)
		}
		var got struct {
			IDs []int `json:"ids"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("--base-dtype %s: output %q: %v", dt, out, err)
		}
		if dt == "q8" {
			if len(got.IDs) > len(c.GreedyIDs) || !slices.Equal(got.IDs[:len(c.InputIDs)], c.InputIDs) {
				t.Errorf("--base-dtype q8: ids %v, want the prompt %v and at most %d new", got.IDs, c.InputIDs, n)
			}
			continue
		}
		if !slices.Equal(got.IDs, c.GreedyIDs) {
			t.Errorf("--base-dtype %s: ids %v, want %v", dt, got.IDs, c.GreedyIDs)
		}
	}
	for _, args := range [][]string{
		{"generate", "--model", dir, "--base-dtype", "int3", "hello"},
		{"serve", "--model", dir, "--base-dtype", "int3", "--port", "0"},
	} {
		if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "--base-dtype") || !strings.Contains(err.Error(), "int3") {
			t.Errorf("%s --base-dtype int3: %v, want an error naming the flag and the value", args[0], err)
		}
	}
}
