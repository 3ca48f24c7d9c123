package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeReport writes an eval --json report with two tasks and returns its path.
func writeReport(t *testing.T, dir, name string, acc, exact, avg float64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	js := `{"tasks": {"cls": {"n": 10, "nll": 1.5, "accuracy": ` + ftoa(acc) + `, "balanced_accuracy": 50, "exact_match": null},
	"gen": {"n": 10, "nll": 3, "accuracy": null, "balanced_accuracy": null, "exact_match": ` + ftoa(exact) + `}}, "avg_score": ` + ftoa(avg) + `}`
	if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ftoa(v float64) string { b, _ := json.Marshal(v); return string(b) }

func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	writeReport(t, dir, "a-1.json", 60, 10, 35)
	writeReport(t, dir, "a-2.json", 70, 20, 45)
	writeReport(t, dir, "a-3.json", 80, 0, 40)
	b := writeReport(t, dir, "b-1.json", 90, 30, 60)
	out, err := runCLI(t, "compare", "a="+filepath.Join(dir, "a-*.json"), "b="+b+",50,55", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Groups []struct {
			Name      string
			Runs      int
			Mean, Min float64
			Max       float64
			Std       *float64
			Tasks     map[string]struct {
				Runs int
				Mean float64
			}
		}
		Tests []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(c.Groups) != 2 || c.Groups[0].Runs != 3 || c.Groups[0].Mean != 40 || c.Groups[0].Std == nil || *c.Groups[0].Std != 5 {
		t.Fatalf("group a: %+v, want 3 runs, mean 40, std 5", c.Groups)
	}
	if g := c.Groups[0].Tasks["cls"]; g.Runs != 3 || g.Mean != 70 {
		t.Errorf("group a task cls: %+v, want 3 runs, mean 70", g)
	}
	if g := c.Groups[1]; g.Runs != 3 || g.Mean != 55 || g.Min != 50 || g.Max != 60 || g.Tasks["gen"].Runs != 1 {
		t.Errorf("group b (one file, two bare scores): %+v", g)
	}
	// b's three scores all exceed a's: U = 9 of 9, exact two-sided p = 2/20.
	if tst := c.Tests[0]; tst["b"] != "b" || tst["diff"] != 15.0 || tst["mann_whitney_u"] != 9.0 || tst["mann_whitney_p"] != 0.1 || tst["mann_whitney_exact"] != true {
		t.Errorf("test b vs a: %v", tst)
	}
	table, err := runCLI(t, "compare", "a="+filepath.Join(dir, "a-*.json"), "b="+b+",50,55")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"40.00", "5.00", "b − a: +15.00", "U = 9, p = 0.1 (exact)", "70.0 ± 10.00"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"tasks": {}, "avg_score": null}`), 0o644)
	notJSON := filepath.Join(dir, "x.txt")
	os.WriteFile(notJSON, []byte("hello"), 0o644)
	for _, c := range []struct{ arg, want string }{
		{"nogroup", "NAME=SRC"},
		{"a=" + filepath.Join(dir, "missing.json"), "missing.json"},
		{"a=" + filepath.Join(dir, "none-*.json"), "no file matches"},
		{"a=" + bad, `no finite "avg_score"`},
		{"a=" + notJSON, "not an eval --json report"},
		{"a=NaN", "not finite"},
	} {
		_, err := runCLI(t, "compare", c.arg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("compare %s: error %v, want one mentioning %q", c.arg, err, c.want)
		}
	}
}

// TestCompareUndefinedStatistics: one run per group leaves the std and Welch's test undefined:
// null in JSON, "n/a" in the table — never a made-up number.
func TestCompareUndefinedStatistics(t *testing.T) {
	out, err := runCLI(t, "compare", "a=40", "b=50", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Groups []struct{ Std *float64 }
		Tests  []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c.Groups[0].Std != nil || c.Tests[0]["welch_p"] != nil || c.Tests[0]["welch_t"] != nil {
		t.Errorf("one run per group: std %v, welch %v / %v; want null", c.Groups[0].Std, c.Tests[0]["welch_t"], c.Tests[0]["welch_p"])
	}
	if c.Tests[0]["mann_whitney_p"] != 1.0 {
		t.Errorf("Mann–Whitney of 1 vs 1 run: p %v, want 1", c.Tests[0]["mann_whitney_p"])
	}
	table, err := runCLI(t, "compare", "a=40", "b=50")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table, "Welch t = n/a (df n/a), p = n/a") {
		t.Errorf("table does not say n/a for the undefined test:\n%s", table)
	}
}
