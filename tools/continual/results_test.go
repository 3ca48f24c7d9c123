package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeEval writes an eval --json report of task t with the given NLL and accuracy.
func writeEval(t *testing.T, path, task string, nll, acc float64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	js := fmt.Sprintf(`{"tasks": {%q: {"n": 10, "nll": %v, "accuracy": %v, "balanced_accuracy": %v, "exact_match": null}}, "avg_score": %v}`, task, nll, acc, acc-5, acc)
	if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTableAndForgettingComeFromTheEvalFiles(t *testing.T) {
	s := &settings{out: t.TempDir(), tasks: []string{"a", "b", "c"}, rank: 8, evalLimit: 10}
	// NLL of task j after task k: 1 + j for the task just trained, + 0.5·(k − j) per later task
	// (sequential forgets, extend forgets a fifth of that); accuracy 90 − 10·(k − j).
	for j, tj := range s.tasks {
		writeEval(t, s.evalFile("", 0, tj), tj, 12, 50)
		for k := j + 1; k <= 3; k++ {
			d := float64(k - j - 1)
			writeEval(t, s.evalFile(apSequential, k, tj), tj, 1+float64(j)+0.5*d, 90-10*d)
			writeEval(t, s.evalFile(apExtend, k, tj), tj, 1+float64(j)+0.1*d, 90-2*d)
		}
		writeEval(t, s.evalFile(apSeparate, j+1, tj), tj, 1+float64(j), 90)
	}
	r, err := s.collect()
	if err != nil {
		t.Fatal(err)
	}
	// Forgetting after task 3: task a is 2 tasks back, task b 1: mean of (1.0, 0.5) = 0.75.
	for _, c := range []struct {
		ap       string
		nll, acc float64
	}{{apSequential, 0.75, -15}, {apExtend, 0.15, -3}, {apSeparate, 0, 0}} {
		if got := r.forgetting(c.ap, nll); math.Abs(got-c.nll) > 1e-12 {
			t.Errorf("%s NLL forgetting %v, want %v", c.ap, got, c.nll)
		}
		if got := r.forgetting(c.ap, acc); math.Abs(got-c.acc) > 1e-12 {
			t.Errorf("%s accuracy forgetting %v, want %v", c.ap, got, c.acc)
		}
	}
	if got := r.final(apSequential, nll); math.Abs(got-(2+2.5+3)/3) > 1e-12 {
		t.Errorf("sequential mean NLL after the last task %v, want 2.5", got)
	}
	md := markdown(s, []*results{r})
	for _, want := range []string{
		"| sequential | 3 (c) | 8 | 2.000 | 70.0 (65.0) | 2.500 | 80.0 (75.0) | 3.000 | 90.0 (85.0) |",
		"| extend | 3 (c) | 24 |", "| separate | 2 (b) | 2 × 8 | 1.000 | 90.0 (85.0) | 2.000 |",
		"| sequential | seed 0 | 2.500 | 80.0 | 75.0 | +0.750 | -15.0 | -15.0 |",
		"| base model | – | – | 12.000 | 50.0 (45.0) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	base := filepath.Join(s.out, "fig")
	if err := r.figure(base); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(base + ".png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("fig.png: %v", err)
	}
	b, err = os.ReadFile(base + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(b, &root); err != nil || root.XMLName.Local != "svg" {
		t.Errorf("fig.svg: root %q, %v", root.XMLName.Local, err)
	}
}

func TestMissingEvalFilesLeaveCellsEmpty(t *testing.T) {
	s := &settings{out: t.TempDir(), tasks: []string{"a", "b"}, rank: 4, evalLimit: 10}
	writeEval(t, s.evalFile(apExtend, 1, "a"), "a", 1.5, 80)
	r, err := s.collect()
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(r.forgetting(apExtend, nll)) {
		t.Error("forgetting computed from missing files")
	}
	if md := markdown(s, []*results{r}); !strings.Contains(md, "| extend | 1 (a) | 4 | 1.500 | 80.0 (75.0) | | |") {
		t.Errorf("table:\n%s", md)
	}
}

func TestTwoRunsAreAveragedCellByCell(t *testing.T) {
	a := &settings{out: t.TempDir(), tasks: []string{"a", "b"}, rank: 4, evalLimit: 10, seed: 0}
	b := *a
	b.out, b.seed = t.TempDir(), 1
	for i, s := range []*settings{a, &b} {
		v := float64(i) // run 1 is one NLL unit and 10 points higher everywhere
		for k := 1; k <= 2; k++ {
			for j := 1; j <= k; j++ {
				tj := s.tasks[j-1]
				writeEval(t, s.evalFile(apSequential, k, tj), tj, float64(k)+v, 60+10*v)
			}
		}
	}
	ra, err := a.collect()
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.collect()
	if err != nil {
		t.Fatal(err)
	}
	md := markdown(a, []*results{ra, rb})
	for _, want := range []string{
		"mean over 2 runs (seed 0, seed 1)",
		"| sequential | 2 (b) | 4 | 2.500 | 65.0 (60.0) | 2.500 | 65.0 (60.0) |",
		"| sequential | seed 0 | 2.000 | 60.0 | 55.0 | +1.000 | +0.0 | +0.0 |",
		"| sequential | seed 1 | 3.000 | 70.0 | 65.0 | +1.000 | +0.0 | +0.0 |",
		"| sequential | mean | 2.500 | 65.0 | 60.0 | +1.000 | +0.0 | +0.0 |",
		"| extend | mean | – |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}
