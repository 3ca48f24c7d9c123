package main

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/safetensors"
	"github.com/spf13/pflag"
)

// TestForwardCommandReproducesReference runs `moslora forward --hidden` on the GPT-2 fixture's
// reference inputs and compares every written tensor with the reference (max |Δ| ≤ 1e-4).
func TestForwardCommandReproducesReference(t *testing.T) {
	dir := shared.Path(t, "fixtures", "hf", "gpt2")
	ref := filepath.Join(dir, "reference.safetensors")
	out := filepath.Join(t.TempDir(), "out.safetensors")
	// cobra keeps flag values between Execute calls on the shared rootCmd: start from defaults.
	for _, c := range rootCmd.Commands() {
		if c.Name() == "forward" {
			c.Flags().VisitAll(func(f *pflag.Flag) {
				f.Value.Set(f.DefValue)
				f.Changed = false
			})
		}
	}
	rootCmd.SetArgs([]string{"forward", "--model", filepath.Join(dir, "model"), "--input", ref, "--out", out, "--hidden"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	got, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	want, err := safetensors.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
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
		var d float64
		for i := range w {
			d = math.Max(d, math.Abs(float64(g[i])-float64(w[i])))
		}
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
