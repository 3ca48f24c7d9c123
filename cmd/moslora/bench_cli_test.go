package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchSmallestGemmJSON runs `moslora bench --json` on the smallest GEMM case (about 38 MFLOP,
// timed for about 0.3 s) and checks each output line is a measurement with a name, a positive
// value and a unit.
func TestBenchSmallestGemmJSON(t *testing.T) {
	const name = "gemm/NT/2048x16x576"
	stdout, err := runCLI(t, "bench", "--only", name, "--steps", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bench output:\n%s", stdout)
	seen := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var m struct {
			Name  *string  `json:"name"`
			Value *float64 `json:"value"`
			Unit  *string  `json:"unit"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bench --json line is not JSON: %v: %s", err, sc.Text())
		}
		if m.Name == nil || m.Value == nil || m.Unit == nil {
			t.Fatalf("bench --json line lacks name, value or unit: %s", sc.Text())
		}
		if !(*m.Value > 0) {
			t.Errorf("%s: value %v, want > 0", *m.Name, *m.Value)
		}
		seen[*m.Name] = *m.Unit
	}
	if u := seen[name]; u != "GFLOP/s" {
		t.Errorf("no %s measurement in GFLOP/s (got %q)", name, u)
	}
	if _, ok := seen[name+"/per_cpu_s"]; !ok {
		t.Errorf("no %s/per_cpu_s measurement", name)
	}
}
