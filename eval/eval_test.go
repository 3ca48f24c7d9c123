package eval

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/numtest"
)

// byteTok is a byte-level test tokenizer: byte c → id c+3; BOS 1, EOS 2.
type byteTok struct{}

func (byteTok) Encode(s string, _ bool) []int {
	var ids []int
	for _, c := range []byte(s) {
		ids = append(ids, int(c)+3)
	}
	return ids
}
func (byteTok) BOS() int     { return 1 }
func (byteTok) EOS() int     { return 2 }
func (byteTok) AddBOS() bool { return true }

const vocab = 259

func id(c byte) int { return int(c) + 3 }

// bigramLM gives logit hi to next[current token] and 0 to every other token.
type bigramLM struct {
	next map[int]int
	hi   float32
}

func (m bigramLM) Logits(ids []int, b, t int) ([]float32, error) {
	out := make([]float32, b*t*vocab)
	for i, x := range ids {
		if y, ok := m.next[x]; ok {
			out[i*vocab+y] = m.hi
		}
	}
	return out, nil
}

func TestBalancedAccuracyFormula(t *testing.T) {
	var tl tally
	tl.addChoice("a", true)
	tl.addChoice("a", true)
	tl.addChoice("a", false)
	tl.addChoice("b", true)
	s := tl.score()
	// accuracy 3/4; recalls a = 2/3, b = 1/1 → balanced (2/3 + 1)/2.
	if math.Abs(*s.Accuracy-75) > numtest.F64 || math.Abs(*s.BalancedAccuracy-100*(2.0/3+1)/2) > numtest.F64 {
		t.Errorf("accuracy %v balanced %v", *s.Accuracy, *s.BalancedAccuracy)
	}
	if s.ExactMatch != nil || s.NLL != nil {
		t.Error("metrics without rows should be nil")
	}
}

func TestEvaluateHandChecked(t *testing.T) {
	// Greedy from "x" emits " b" then EOS; after " " the model prefers "b" over "c".
	lm := bigramLM{hi: 5, next: map[int]int{id('x'): id(' '), id(' '): id('b'), id('b'): 2}}
	src := `{"task": "cls", "prompt": "x", "completion": " b", "choices": [" b", " c"]}
{"task": "cls", "prompt": "x", "completion": " c", "choices": [" b", " c"]}
{"task": "gen", "prompt": "x", "completion": " b"}
{"task": "gen", "prompt": "x", "completion": " q", "answers": ["q", "  b  "]}
{"task": "gen", "prompt": "x", "completion": " c"}
`
	rows, _, err := data.Read(strings.NewReader(src), "t.jsonl", false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(lm, byteTok{}, rows, Options{MaxBatch: 2, BatchTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	hit := 5 - math.Log(math.Exp(5)+vocab-1) // log p of the favoured token
	miss := 0 - math.Log(math.Exp(5)+vocab-1)

	cls := rep.Tasks["cls"]
	// Row 1: " b" wins, truth " b" (right). Row 2: " b" wins, truth " c" (wrong).
	if cls.N != 2 || *cls.Accuracy != 50 || *cls.BalancedAccuracy != 50 || cls.ExactMatch != nil {
		t.Errorf("cls = %+v", cls)
	}
	// NLL over completion + EOS: " b"+EOS = hit,hit,hit; " c"+EOS = hit,miss, then EOS after "c"
	// (no favourite: uniform, -log V).
	if want := -(3*hit + hit + miss - math.Log(vocab)) / 6; math.Abs(*cls.NLL-want) > numtest.F64 {
		t.Errorf("cls nll %v, want %v", *cls.NLL, want)
	}
	gen := rep.Tasks["gen"]
	// Row 3 matches; row 4 matches through its second answer (stripped); row 5 does not.
	if gen.N != 3 || math.Abs(*gen.ExactMatch-200.0/3) > numtest.F64 || gen.Accuracy != nil {
		t.Errorf("gen = %+v", gen)
	}
	if want := (50 + 200.0/3) / 2; math.Abs(*rep.AvgScore-want) > numtest.F64 {
		t.Errorf("avg_score %v, want %v", *rep.AvgScore, want)
	}
	b, _ := json.Marshal(rep)
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if len(generic) != 2 || generic["avg_score"] == nil {
		t.Errorf("JSON %s: want exactly tasks and avg_score", b)
	}
	g := generic["tasks"].(map[string]any)["gen"].(map[string]any)
	for _, k := range []string{"n", "nll", "accuracy", "balanced_accuracy", "exact_match"} {
		if _, ok := g[k]; !ok {
			t.Errorf("JSON task entry lacks %q: %s", k, b)
		}
	}
	var sb strings.Builder
	if err := rep.WriteTable(&sb); err != nil || !strings.Contains(sb.String(), "avg_score") {
		t.Errorf("table: %v\n%s", err, sb.String())
	}
}

func TestArgmaxTieGoesToFirstIndex(t *testing.T) {
	// All logits equal: argmax is id 0, so a target of id 5 is not greedy.
	ex := data.Example{IDs: []int{1, 5}, Labels: []int{data.IgnoreLabel, 5}}
	r := scoreSeq(make([]float32, 2*vocab), ex, vocab, 2)
	if r.argmax || r.tokens != 1 || math.Abs(r.logProb+math.Log(vocab)) > numtest.F64 {
		t.Errorf("result %+v", r)
	}
}

// The NLL of a choice row comes from the truth choice's forward (plus its EOS prediction) when
// possible; it must equal the NLL of the same row scored as a plain prompt/completion row, with
// and without truncation.
func TestChoiceNLLEqualsPlainNLL(t *testing.T) {
	lm := bigramLM{hi: 3, next: map[int]int{id('x'): id(' '), id(' '): id('b'), id('b'): 2, id('y'): id('c')}}
	src := `{"task": "t", "prompt": "xyx", "completion": " b", "choices": [" b", " c"]}
{"task": "t", "prompt": "xy", "completion": " c", "choices": [" b", " c"]}
`
	rows, _, err := data.Read(strings.NewReader(src), "t.jsonl", false)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]data.Row, len(rows))
	copy(plain, rows)
	for i := range plain {
		plain[i].Choices = nil
	}
	for _, maxLen := range []int{0, 4, 5} {
		a, err := Evaluate(lm, byteTok{}, rows, Options{MaxLen: maxLen})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Evaluate(lm, byteTok{}, plain, Options{MaxLen: maxLen})
		if err != nil {
			t.Fatal(err)
		}
		na, nb := *a.Tasks["t"].NLL, *b.Tasks["t"].NLL
		if math.Abs(na-nb) > numtest.F64 {
			t.Errorf("max len %d: choice-row NLL %v, plain-row NLL %v", maxLen, na, nb)
		}
	}
}
