package jobs

import (
	"math"
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/defaults"
	"github.com/moslora/moslora/train"
)

// Per-task gate usage by hand: a gated adapter with G = 0 and c = (0, ln 2) gates every token
// (1/3, 2/3), entropy ln 3 − ⅔·ln 2 = 0.6365141683, whatever the task; each task of the rows is
// listed in order of first appearance with its rows and their token count (one row per forward
// pass: no padding). A LoRA adapter writes no gate usage.
func TestGateUsageByTaskByHand(t *testing.T) {
	p, err := defaults.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	op, err := Open{Model: p.ModelDir, Tokenizer: true}.Load()
	if err != nil {
		t.Fatal(err)
	}
	rows := []data.Row{
		{Task: "a", HasPrompt: true, Prompt: "Say one:", Completion: " one"},
		{Task: "b", HasPrompt: true, Prompt: "Say two words:", Completion: " two words"},
		{Task: "a", HasPrompt: true, Prompt: "Say three:", Completion: " three"},
		{Domain: "d", HasText: true, Text: "plain text"},
	}
	cfg := train.DefaultConfig()
	cfg.Method, cfg.Rank, cfg.Subspaces, cfg.Targets = train.MethodGated, 4, 2, []string{"q", "down"}
	a, err := cfg.NewAdapter(op.Model)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range a.Linears {
		for _, p := range l.Mixer.Params() {
			if p.Shape[0] == 2 && len(p.Shape) == 1 { // lora_gate.bias
				p.W[0], p.W[1] = 0, float32(math.Ln2)
			}
		}
	}
	got, err := GateUsageByTask(op.Model, a, op.Encoder, rows, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	tokens := func(is ...int) int {
		n := 0
		for _, i := range is {
			ex, err := data.Encode(op.Encoder, &rows[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			n += len(ex.IDs)
		}
		return n
	}
	want := []struct {
		task         string
		rows, tokens int
	}{{"a", 2, tokens(0, 2)}, {"b", 1, tokens(1)}, {"d", 1, tokens(3)}}
	if len(got) != len(want) {
		t.Fatalf("%d tasks, want %d: %+v", len(got), len(want), got)
	}
	ent := math.Log(3) - 2.0/3*math.Ln2
	for i, w := range want {
		g := got[i]
		if g.Task != w.task || g.Rows != w.rows || g.Tokens != w.tokens {
			t.Errorf("task %d: %s, %d rows, %d tokens; want %s, %d, %d", i, g.Task, g.Rows, g.Tokens, w.task, w.rows, w.tokens)
		}
		if len(g.Usage) != 2 || math.Abs(g.Usage[0]-1.0/3) > 1e-6 || math.Abs(g.Usage[1]-2.0/3) > 1e-6 || math.Abs(g.Entropy-ent) > 1e-6 {
			t.Errorf("task %s: usage %v entropy %v, want [1/3 2/3] and %v", g.Task, g.Usage, g.Entropy, ent)
		}
		if len(g.Modules) != len(a.Linears) {
			t.Errorf("task %s: %d modules, want %d", g.Task, len(g.Modules), len(a.Linears))
		}
	}
	if math.Abs(ent-0.6365141683) > 1e-9 {
		t.Fatalf("hand value %v", ent)
	}
	a.Detach()
	cfg.Method = train.MethodLoRA
	l, err := cfg.NewAdapter(op.Model)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := GateUsageByTask(op.Model, l, op.Encoder, rows, 64, 0); got != nil || err != nil {
		t.Errorf("LoRA: %v %v, want nothing", got, err)
	}
}
