package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDemoSmallRun runs `moslora demo` on the embedded default with 16 training rows and 2
// evaluation rows per task: it prints the before and after tables with every task, an
// "avg_score X → Y" line, and leaves the adapter in --out.
func TestDemoSmallRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	stdout, err := runCLI(t, "demo", "--rows", "16", "--per-task", "2", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo output:\n%s", stdout)
	before := strings.Index(stdout, "before (base model")
	after := strings.Index(stdout, "after (")
	if before < 0 || after < before {
		t.Fatalf("demo output lacks a 'before' table followed by an 'after' table")
	}
	for _, task := range []string{"sentiment", "spam", "quiz", "define", "gocode"} {
		if !strings.Contains(stdout[before:after], task) || !strings.Contains(stdout[after:], task) {
			t.Errorf("task %s is missing from the before or after table", task)
		}
	}
	if !regexp.MustCompile(`(?m)^avg_score -?[0-9.]+ → -?[0-9.]+ `).MatchString(stdout) {
		t.Errorf("demo output has no 'avg_score X → Y' line")
	}
	// The first result line is the headline, and on the embedded default it reports learning.
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	first := ""
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, "used the embedded default") {
			first = l
			break
		}
	}
	if m := regexp.MustCompile(`^the adapter learned: completion NLL per token ([0-9.]+) → ([0-9.]+) \(-[0-9]+%\), mean over 5 tasks$`).FindStringSubmatch(first); m == nil {
		t.Errorf("demo output does not lead with the headline; first line: %q", first)
	} else if b, a := atof(t, m[1]), atof(t, m[2]); !(a < b) {
		t.Errorf("completion NLL did not fall: %v → %v", b, a)
	}
	if !strings.Contains(stdout, "balanced accuracy") || !strings.Contains(stdout, "majority class") {
		t.Errorf("demo output lacks the balanced accuracy line or the note on the majority class")
	}
	if !strings.Contains(stdout, "after (4 updates on 16 rows") {
		t.Errorf("demo did not report 4 updates (2 epochs of 16 rows in batches of 8) on 16 rows")
	}
	for _, name := range []string{"adapter_config.json", "adapter_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("demo --out: %v", err)
		}
	}
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
