package main

import (
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
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
		d := numtest.MaxAbsDiff(g, w)
		t.Logf("%s: max |Δ| %.3g", name, d)
		if len(g) != len(w) || !(d <= numtest.F32Model) {
			t.Errorf("%s: %d values, max |Δ| %.3g (reference %d values)", name, len(g), d, len(w))
		}
		n++
	}
	if n != len(got.Names()) {
		t.Errorf("output has %d tensors, compared %d", len(got.Names()), n)
	}
}
