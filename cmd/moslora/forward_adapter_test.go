package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/safetensors"
)

// TestForwardAdapterGradsReproduceMoSLoRAReference runs `moslora forward --adapter moslora_r4
// --grads` on the fixture's reference inputs: logits and loss within 1e-4, every grad.<key>
// within 1e-4 relative L2, and exactly the reference's gradient keys.
func TestForwardAdapterGradsReproduceMoSLoRAReference(t *testing.T) {
	dir := shared.Path(t, "fixtures", "hf", "llama")
	adapterDir := filepath.Join(dir, "moslora_r4")
	ref := filepath.Join(adapterDir, "reference.safetensors")
	out := filepath.Join(t.TempDir(), "out.safetensors")
	if _, err := runCLI(t, "forward", "--model", filepath.Join(dir, "model"), "--input", ref, "--out", out,
		"--adapter", adapterDir, "--grads"); err != nil {
		t.Fatal(err)
	}
	got, want := openSafetensors(t, out), openSafetensors(t, ref)
	read := func(f *safetensors.File, name string) []float32 {
		v, _, err := f.Float32(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	for _, name := range []string{"logits", "loss"} {
		if want.Info(name) == nil {
			continue
		}
		g, w := read(got, name), read(want, name)
		d := numtest.MaxAbsDiff(g, w)
		t.Logf("%s: max |Δ| %.3g", name, d)
		if len(g) != len(w) || !(d <= numtest.F32Model) {
			t.Errorf("%s: %d values, max |Δ| %.3g (reference %d)", name, len(g), d, len(w))
		}
	}
	// The MoSLoRA reference stores the loss before each of its AdamW steps; the first is ours.
	if loss, steps := read(got, "loss"), read(want, "losses_3_steps"); math.Abs(float64(loss[0]-steps[0])) > numtest.F32Model {
		t.Errorf("loss %.7g, reference losses_3_steps[0] %.7g", loss[0], steps[0])
	} else {
		t.Logf("loss %.7g, reference %.7g", loss[0], steps[0])
	}
	nGrad, worst := 0, 0.0
	for _, name := range want.Names() {
		if !strings.HasPrefix(name, "grad.") {
			continue
		}
		nGrad++
		g, w := read(got, name), read(want, name)
		var e, n float64
		for i := range w {
			e += (float64(g[i]) - float64(w[i])) * (float64(g[i]) - float64(w[i]))
			n += float64(w[i]) * float64(w[i])
		}
		rel := math.Sqrt(e / n)
		worst = math.Max(worst, rel)
		if len(g) != len(w) || !(rel <= numtest.F32Model) {
			t.Errorf("%s: rel L2 err %.3g", name, rel)
		}
	}
	written := 0
	for _, name := range got.Names() {
		if strings.HasPrefix(name, "grad.") {
			written++
		}
	}
	t.Logf("%d gradients, worst rel L2 err %.3g", nGrad, worst)
	if nGrad == 0 || written != nGrad {
		t.Errorf("wrote %d gradients, the reference has %d", written, nGrad)
	}

	if _, err := runCLI(t, "forward", "--model", filepath.Join(dir, "model"), "--input", ref, "--out", out,
		"--adapter=", "--grads"); err == nil || !strings.Contains(err.Error(), "--adapter") {
		t.Errorf("--grads without --adapter: %v", err)
	}
}
