package main

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/safetensors"
)

// openSafetensors opens the safetensors file at path for the rest of the test.
func openSafetensors(t *testing.T, path string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// maxAbsDiff returns max |g[i] − w[i]| over the indices both slices have.
func maxAbsDiff(g, w []float32) float64 {
	d := 0.0
	for i := range min(len(g), len(w)) {
		d = math.Max(d, math.Abs(float64(g[i])-float64(w[i])))
	}
	return d
}

// TestForwardCommandReproducesReference runs `moslora forward --hidden` on the GPT-2 fixture's
// reference inputs and compares every written tensor with the reference (max |Δ| ≤ 1e-4).
func TestForwardCommandReproducesReference(t *testing.T) {
	dir := shared.Path(t, "fixtures", "hf", "gpt2")
	ref := filepath.Join(dir, "reference.safetensors")
	out := filepath.Join(t.TempDir(), "out.safetensors")
	if _, err := runCLI(t, "forward", "--model", filepath.Join(dir, "model"), "--input", ref, "--out", out, "--hidden"); err != nil {
		t.Fatal(err)
	}
	got, want := openSafetensors(t, out), openSafetensors(t, ref)
	n := 0
	for _, name := range want.Names() {
		if name == "input_ids" || name == "labels" {
			continue
		}
		w, _, err := want.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		g, _, err := got.Float32(name)
		if err != nil {
			t.Fatalf("output lacks %s: %v", name, err)
		}
		d := maxAbsDiff(g, w)
		t.Logf("%s: max |Δ| %.3g", name, d)
		if len(g) != len(w) || !(d <= 1e-4) {
			t.Errorf("%s: %d values, max |Δ| %.3g (reference %d values)", name, len(g), d, len(w))
		}
		n++
	}
	if n != len(got.Names()) {
		t.Errorf("output has %d tensors, compared %d", len(got.Names()), n)
	}
}
