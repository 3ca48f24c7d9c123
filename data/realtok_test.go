package data_test

import (
	"slices"
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/tokenizer"
)

// TestTaskRowsWithBaseTokenizer encodes real task rows with base-19m's tokenizer: BOS, the
// separately tokenized prompt and completion, EOS; loss exactly on completion + EOS.
func TestTaskRowsWithBaseTokenizer(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	path := shared.Path(t, "data", "tasks", "mix", "test.jsonl")
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, skipped, err := data.ReadFile(path, false)
	if err != nil || skipped != 0 {
		t.Fatalf("%s: %v (skipped %d)", path, err, skipped)
	}
	if !tok.AddBOS() || tok.BOS() < 0 || tok.EOS() < 0 {
		t.Fatalf("base-19m tokenizer: AddBOS %v BOS %d EOS %d; expected a BOS-adding tokenizer", tok.AddBOS(), tok.BOS(), tok.EOS())
	}
	truncated, checked := 0, 0
	for i, r := range rows {
		if i%5 != 0 { // a sample across every task (the file is grouped by task)
			continue
		}
		checked++
		ex, err := data.Encode(tok, &r, 256)
		if err != nil {
			t.Fatal(err)
		}
		p, c := tok.Encode(r.Prompt, false), tok.Encode(r.Completion, false)
		want := append(append(append([]int{tok.BOS()}, p...), c...), tok.EOS())
		if len(want) > 256 {
			truncated++
			want = append([]int{tok.BOS()}, want[len(want)-255:]...)
		}
		if !slices.Equal(ex.IDs, want) {
			t.Fatalf("row %d: ids differ from BOS + prompt + completion + EOS", i)
		}
		if got := ex.LossTokens(); got != len(c)+1 {
			t.Fatalf("row %d: %d loss tokens, want %d (completion + EOS)", i, got, len(c)+1)
		}
		if got := tok.Decode(ex.IDs[len(ex.IDs)-len(c)-1:len(ex.IDs)-1], false); got != r.Completion {
			t.Fatalf("row %d: completion decodes to %q, want %q", i, got, r.Completion)
		}
	}
	t.Logf("%d rows checked, %d truncated to 256 tokens", checked, truncated)
	if truncated == 0 {
		t.Error("no row was truncated: the truncation path went untested")
	}
}
