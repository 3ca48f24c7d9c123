package eval

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/moslora/moslora/data"
)

// TestPerRowScoresReproduceTheMetrics: the per-row lists eval.json keeps are exactly what the
// task metrics average, in file order, and a report without them (written before they existed)
// still reads.
func TestPerRowScoresReproduceTheMetrics(t *testing.T) {
	lm := bigramLM{hi: 5, next: map[int]int{id('x'): id(' '), id(' '): id('b'), id('b'): 2}}
	src := `{"task": "cls", "prompt": "x", "completion": " b", "choices": [" b", " c"]}
{"task": "gen", "prompt": "x", "completion": " b"}
{"task": "cls", "prompt": "x", "completion": " c", "choices": [" b", " c"]}
{"task": "gen", "prompt": "x", "completion": " c"}
{"task": "cls", "prompt": "x", "completion": " b", "choices": [" c", " b"]}
`
	rows, _, err := data.Read(strings.NewReader(src), "t.jsonl", false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(lm, byteTok{}, rows, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cls, gen := rep.Tasks["cls"], rep.Tasks["gen"]
	// cls rows 1, 3, 5: " b" always wins → right, wrong, right; truths b, c, b.
	if e := cls.Examples; len(e.Correct) != 3 || e.Correct[0] != 1 || e.Correct[1] != 0 || e.Correct[2] != 1 ||
		strings.Join(e.Class, ",") != " b, c, b" || e.Exact != nil {
		t.Errorf("cls examples %+v, want correct 1,0,1 and classes b,c,b", e)
	}
	if e := gen.Examples; len(e.Exact) != 2 || e.Exact[0] != 1 || e.Exact[1] != 0 || e.Correct != nil {
		t.Errorf("gen examples %+v, want exact 1,0", e)
	}
	for name, s := range rep.Tasks {
		var sum float64
		var tok int
		for i := range s.Examples.NLLSum {
			sum += s.Examples.NLLSum[i]
			tok += s.Examples.Tokens[i]
		}
		if len(s.Examples.NLLSum) != s.N || math.Abs(sum/float64(tok)-*s.NLL) > 1e-12 {
			t.Errorf("%s: per-row NLL %v over %d tokens (%d rows) does not give nll %v", name, sum, tok, len(s.Examples.NLLSum), *s.NLL)
		}
		var m float64
		for _, v := range s.MainScores() {
			m += v
		}
		if got := m / float64(len(s.MainScores())); math.Abs(got-*s.MainScore()) > 1e-12 {
			t.Errorf("%s: mean of MainScores %v, MainScore %v", name, got, *s.MainScore())
		}
	}
	old := `{"tasks": {"cls": {"n": 3, "nll": 1, "accuracy": 50, "balanced_accuracy": 50, "exact_match": null}}, "avg_score": 50}`
	var r Report
	if err := json.Unmarshal([]byte(old), &r); err != nil || r.Tasks["cls"].Examples != nil || r.Tasks["cls"].MainScores() != nil {
		t.Errorf("a report without per-row scores: %v, examples %v", err, r.Tasks["cls"].Examples)
	}
}
