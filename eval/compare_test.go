package eval

import (
	"strings"
	"testing"
)

// TestSingleRunGetsItsBootstrapInterval: a group of one run whose eval.json keeps per-row scores
// gets a 95% interval over its test examples around its avg_score; without per-row scores it
// gets none.
func TestSingleRunGetsItsBootstrapInterval(t *testing.T) {
	acc, ex := 60.0, 25.0
	avg := (acc + ex) / 2
	r := &Report{AvgScore: &avg, Tasks: map[string]*TaskScore{
		"cls": {N: 5, Accuracy: &acc, Examples: &Examples{Correct: []int{1, 1, 0, 1, 0}, Class: []string{"a", "b", "a", "b", "a"}}},
		"gen": {N: 4, ExactMatch: &ex, Examples: &Examples{Exact: []int{0, 1, 0, 0}}},
	}}
	c, err := Compare([]*Group{{Name: "one", Runs: []Run{{Source: "x", Report: r}}}}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ci := c.Groups[0].CI
	if ci == nil || !(ci[0] < avg && avg < ci[1]) || ci[0] < 0 || ci[1] > 100 {
		t.Fatalf("interval %v around %v", ci, avg)
	}
	var b strings.Builder
	c.WriteTable(&b)
	if !strings.Contains(b.String(), "95% bootstrap interval") {
		t.Errorf("table lacks the interval:\n%s", b.String())
	}
	r.Tasks["gen"].Examples = nil
	if c, _ := Compare([]*Group{{Name: "one", Runs: []Run{{Source: "x", Report: r}}}}, CompareOptions{}); c.Groups[0].CI != nil {
		t.Errorf("a report without per-row scores got an interval %v", c.Groups[0].CI)
	}
}
