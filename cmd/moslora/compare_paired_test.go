package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRun writes DIR/NAME/eval.json (two tasks, avg_score = mean of acc and exact) and its
// train_config.json with the seed, like a sweep cell.
func writeRun(t *testing.T, dir, name string, seed int, acc, bal, exact, nll float64) {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	js := `{"tasks": {"cls": {"n": 4, "nll": ` + ftoa(nll) + `, "accuracy": ` + ftoa(acc) + `, "balanced_accuracy": ` + ftoa(bal) + `, "exact_match": null},
	"gen": {"n": 4, "nll": ` + ftoa(nll+1) + `, "accuracy": null, "balanced_accuracy": null, "exact_match": ` + ftoa(exact) + `}}, "avg_score": ` + ftoa((acc+exact)/2) + `}`
	os.WriteFile(filepath.Join(d, "eval.json"), []byte(js), 0o644)
	os.WriteFile(filepath.Join(d, "train_config.json"), []byte(`{"config": {"seed": `+ftoa(float64(seed))+`}}`), 0o644)
}

// TestComparePairsRunsBySeed: runs of the same seed are paired whatever the file order, and the
// paired tests see what the unpaired ones cannot: b beats a on every seed by 1–3 points while the
// seed-to-seed spread is 20 points.
func TestComparePairsRunsBySeed(t *testing.T) {
	dir := t.TempDir()
	for i, s := range []float64{40, 60, 80, 50, 70} {
		writeRun(t, dir, "a-"+string(rune('0'+i)), i, s, s, 0, 2)
		// Written under names that sort in the reverse seed order.
		writeRun(t, dir, "b-"+string(rune('9'-i)), i, s+2*float64(i%3+1)/1, s, 0, 1.5)
	}
	out, err := runCLI(t, "compare", "a="+filepath.Join(dir, "a-*/eval.json"), "b="+filepath.Join(dir, "b-*/eval.json"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Metric string
		Tests  []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	tst := c.Tests[0]
	// avg_score differences b − a per seed: (2·(i%3+1))/2 = 1, 2, 3, 1, 2 → mean 1.8; all positive,
	// ties among |d| (1,1 and 2,2) → W+ = 15, T = 0, scipy's "exact" p = 2/32.
	if c.Metric != "avg_score" || tst["paired_n"] != 5.0 || !near(tst["paired_diff"], 1.8) || tst["wilcoxon_t"] != 0.0 ||
		!near(tst["wilcoxon_p"], 0.0625) || tst["wilcoxon_exact"] != true {
		t.Errorf("paired test: %v", tst)
	}
	if p := tst["paired_p"].(float64); p >= 0.05 || tst["welch_p"].(float64) < 0.5 {
		t.Errorf("paired p %v should be small and Welch p %v large (spread 20, shift 1.8)", p, tst["welch_p"])
	}
	// NLL: b is 0.5 lower on every task of every seed; mean over tasks a = 2.5, b = 2.
	out, err = runCLI(t, "compare", "a="+filepath.Join(dir, "a-*/eval.json"), "b="+filepath.Join(dir, "b-*/eval.json"), "--metric", "nll")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"group  runs     nll", "2.5000", "2.0000", "b − a: -0.5000", "paired over 5 seeds: -0.5000", "1.5000 ± 0.0000"} {
		if !strings.Contains(out, want) {
			t.Errorf("nll table lacks %q:\n%s", want, out)
		}
	}
	// balanced_score: mean of balanced accuracy (cls) and exact match (gen): a's and b's are equal.
	out, err = runCLI(t, "compare", "a="+filepath.Join(dir, "a-*/eval.json"), "b="+filepath.Join(dir, "b-*/eval.json"), "--metric", "balanced_score", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"mean": 30`) || !strings.Contains(out, `"paired_diff": 0`) {
		t.Errorf("balanced_score: want both means 30 and paired diff 0:\n%s", out)
	}
	if _, err := runCLI(t, "compare", "a=1", "--metric", "f1"); err == nil || !strings.Contains(err.Error(), "avg_score, balanced_score, nll") {
		t.Errorf("unknown metric: %v", err)
	}
}

func near(v any, want float64) bool {
	f, ok := v.(float64)
	return ok && f-want < 1e-9 && want-f < 1e-9
}

// TestCompareParityCheck: the parity check passes within the tolerance, fails (non-zero exit)
// outside it, and accepts a group or a number as the reference.
func TestCompareParityCheck(t *testing.T) {
	out, err := runCLI(t, "compare", "ours=31,33", "ref=32.4,32.8", "--parity", "ours=ref", "--parity", "ours=32.9")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"ours 32.00 − ref 32.60 = -0.60: within ±1", "ours 32.00 − 32.9 = -0.90: within ±1"} {
		if !strings.Contains(out, want) {
			t.Errorf("parity lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "compare", "ours=31,33", "ref=32.4,32.8", "--parity", "ours=33.1")
	if err == nil || !strings.Contains(err.Error(), "parity check failed") || !strings.Contains(out, "ours 32.00 − 33.1 = -1.10: OUTSIDE ±1") {
		t.Errorf("mean 32 against 33.1 ± 1: error %v, want a failed parity check\n%s", err, out)
	}
	if _, err := runCLI(t, "compare", "ours=31,33", "--parity", "ours=33.1", "--parity-tol", "1.2"); err != nil {
		t.Errorf("mean 32 against 33.1 ± 1.2: %v", err)
	}
	for _, c := range []struct{ arg, want string }{{"nobody=1", `no group named "nobody"`}, {"ours=x", "neither a group name nor a number"}, {"ours", "want GROUP=REF"}} {
		if _, err := runCLI(t, "compare", "ours=31,33", "--parity", c.arg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--parity %s: %v, want %q", c.arg, err, c.want)
		}
	}
}
