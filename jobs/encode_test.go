package jobs

import (
	"strings"
	"testing"

	"github.com/moslora/moslora/data"
)

// bytesTok is a byte-level data.Tokenizer with BOS 1 and EOS 2.
type bytesTok struct{}

func (bytesTok) Encode(s string, _ bool) []int {
	ids := make([]int, len(s))
	for i := range len(s) {
		ids[i] = int(s[i]) + 3
	}
	return ids
}
func (bytesTok) BOS() int     { return 1 }
func (bytesTok) EOS() int     { return 2 }
func (bytesTok) AddBOS() bool { return true }

// TestEncodeRowsPackSplitsLongText: with packing, a long {"text"} row is split into max-len chunks
// holding all of its tokens, while a prompt/completion row is still truncated (and counted).
func TestEncodeRowsPackSplitsLongText(t *testing.T) {
	long := strings.Repeat("abcdefghij", 5) // 50 bytes → BOS + 50 + EOS = 52 tokens
	rows := []data.Row{
		{HasText: true, Text: long},
		{HasPrompt: true, Prompt: long, Completion: " x"},
	}
	for _, pack := range []bool{false, true} {
		exs, truncated, err := encodeRows(bytesTok{}, rows, 16, pack)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, e := range exs {
			if len(e.IDs) > 16 {
				t.Fatalf("pack=%v: example of %d tokens exceeds 16", pack, len(e.IDs))
			}
			if e.Row == 0 {
				total += len(e.IDs)
			}
		}
		switch {
		case pack && (total != 52 || truncated != 1 || len(exs) != 5):
			t.Errorf("pack: text row gave %d tokens in %d examples, %d truncated; want 52 tokens in 4 chunks + 1 truncated prompt row", total, len(exs), truncated)
		case !pack && (total != 16 || truncated != 2 || len(exs) != 2):
			t.Errorf("no pack: text row kept %d tokens, %d examples, %d truncated; want 16, 2, 2", total, len(exs), truncated)
		}
	}
}
