// Command dump writes the issue-5 protocol's training examples and evaluation requests, encoded by
// data.Encode exactly as `moslora train` and `moslora eval` build them (max 256 tokens), as JSON for
// tools/parity/torch_protocol.py and tools/parity/torch_paired.py:
//
//	go run ./tools/parity/dump [-init DIR -method lora|moslora -seed S] MODEL_DIR TRAIN.jsonl TEST.jsonl OUT.json
//
// With -init, it also writes the starting point that `moslora train --method M --seed S` draws on
// the protocol: the untrained adapter (a PEFT folder, DIR) and the epoch's example order
// (DIR/order.json, indices into OUT.json's "train"), so that a run elsewhere can start from exactly
// the same initialisation and see the same batches.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
	"github.com/moslora/moslora/train"
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

// writeInit writes the adapter `moslora train --method method --seed seed` starts from, with the
// protocol's settings (train.DefaultConfig: r 16, alpha 32, all seven projections), and the order
// of its first epoch over n examples.
func writeInit(dir, modelDir, method string, seed int64, n int) error {
	cfg := train.DefaultConfig()
	cfg.Method, cfg.Seed = method, seed
	if err := cfg.Validate(); err != nil {
		return err
	}
	m, err := model.Load(modelDir)
	if err != nil {
		return err
	}
	a, err := cfg.NewAdapter(m)
	if err != nil {
		return err
	}
	if err := a.Save(dir); err != nil {
		return err
	}
	order, err := json.Marshal(data.Order(n, cfg.Seed, 0))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "order.json"), order, 0o644)
}

func main() {
	initDir := flag.String("init", "", "also write the untrained adapter and the epoch order of -method/-seed here")
	method := flag.String("method", train.MethodLoRA, "method whose starting point -init writes (lora or moslora)")
	seed := flag.Int64("seed", 0, "seed whose starting point -init writes")
	flag.Parse()
	args := flag.Args()
	if len(args) != 4 {
		die(fmt.Errorf("usage: dump [-init DIR -method M -seed S] MODEL_DIR TRAIN.jsonl TEST.jsonl OUT.json"))
	}
	tok, err := tokenizer.Load(args[0])
	if err != nil {
		die(err)
	}
	rows, _, err := data.ReadFile(args[1], false)
	if err != nil {
		die(err)
	}
	var tr []seq
	for i := range rows {
		ex, err := data.Encode(tok, &rows[i], 256)
		if err != nil {
			die(err)
		}
		tr = append(tr, conv(ex, false))
	}
	if *initDir != "" {
		if err := writeInit(*initDir, args[0], *method, *seed, len(tr)); err != nil {
			die(err)
		}
	}
	test, _, err := data.ReadFile(args[2], false)
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
	if err := os.WriteFile(args[3], out, 0o644); err != nil {
		die(err)
	}
}
