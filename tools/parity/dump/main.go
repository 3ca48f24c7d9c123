// Command dump writes the issue-5 protocol's training examples and evaluation requests, encoded by
// data.Encode exactly as `moslora train` and `moslora eval` build them (max 256 tokens), as JSON for
// tools/parity/torch_protocol.py:
//
//	go run ./tools/parity/dump MODEL_DIR TRAIN.jsonl TEST.jsonl OUT.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/tokenizer"
)

type seq struct {
	IDs    []int `json:"ids"`
	Labels []int `json:"labels"` // -100 where not scored
}

type testRow struct {
	Task    string `json:"task"`
	Choices []seq  `json:"choices,omitempty"` // without EOS: scored = the choice tokens
	Truth   int    `json:"truth"`
	Cands   []seq  `json:"cands,omitempty"` // with EOS: every scored position must be the argmax
	NLL     seq    `json:"nll"`
}

func conv(ex data.Example, dropLast bool) seq {
	ids, lab := ex.IDs, ex.Labels
	if dropLast {
		ids, lab = ids[:len(ids)-1], lab[:len(lab)-1]
	}
	s := seq{IDs: ids, Labels: make([]int, len(lab))}
	for i, l := range lab {
		if l == data.IgnoreLabel {
			s.Labels[i] = -100
		} else {
			s.Labels[i] = l
		}
	}
	return s
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "dump:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 5 {
		die(fmt.Errorf("usage: dump MODEL_DIR TRAIN.jsonl TEST.jsonl OUT.json"))
	}
	tok, err := tokenizer.Load(os.Args[1])
	if err != nil {
		die(err)
	}
	train, _, err := data.ReadFile(os.Args[2], false)
	if err != nil {
		die(err)
	}
	var tr []seq
	for i := range train {
		ex, err := data.Encode(tok, &train[i], 256)
		if err != nil {
			die(err)
		}
		tr = append(tr, conv(ex, false))
	}
	test, _, err := data.ReadFile(os.Args[3], false)
	if err != nil {
		die(err)
	}
	var te []testRow
	for i := range test {
		r := &test[i]
		ex, err := data.Encode(tok, r, 256)
		if err != nil {
			die(err)
		}
		row := testRow{Task: r.Task, Truth: -1, NLL: conv(ex, false)}
		if len(r.Choices) > 0 {
			for j, c := range r.Choices {
				cr := data.Row{Prompt: r.Prompt, Completion: c, HasPrompt: true}
				ce, err := data.Encode(tok, &cr, 257) // +EOS, dropped below: same budget as eval's candidate
				if err != nil {
					die(err)
				}
				row.Choices = append(row.Choices, conv(ce, true))
				if c == r.Completion {
					row.Truth = j
				}
			}
		} else {
			answers := r.Answers
			if len(answers) == 0 {
				answers = []string{r.Completion}
			}
			for _, a := range answers {
				cr := data.Row{Prompt: r.Prompt, Completion: " " + strings.TrimSpace(a), HasPrompt: true}
				ce, err := data.Encode(tok, &cr, 256)
				if err != nil {
					die(err)
				}
				row.Cands = append(row.Cands, conv(ce, false))
			}
		}
		te = append(te, row)
	}
	out, err := json.Marshal(map[string]any{"train": tr, "test": te})
	if err != nil {
		die(err)
	}
	if err := os.WriteFile(os.Args[4], out, 0o644); err != nil {
		die(err)
	}
}
