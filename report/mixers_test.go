package report

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestSingularValuesHandComputed(t *testing.T) {
	// A rotation scaled by 3 has both singular values 3; diag(−2, 0.5) has 2 and 0.5 (descending).
	c, s := float32(math.Cos(0.3)), float32(math.Sin(0.3))
	for _, tc := range []struct {
		w    []float32
		want []float64
	}{
		{[]float32{3 * c, -3 * s, 3 * s, 3 * c}, []float64{3, 3}},
		{[]float32{0.5, 0, 0, -2}, []float64{2, 0.5}},
		// Rank one: [1 2; 2 4] = [1 2]ᵀ[1 2], σ = |v|² = 5, 0.
		{[]float32{1, 2, 2, 4}, []float64{5, 0}},
	} {
		got := SingularValues(tc.w, 2)
		for i := range tc.want {
			if math.Abs(got[i]-tc.want[i]) > 1e-6 {
				t.Errorf("SingularValues(%v) = %v, want %v", tc.w, got, tc.want)
			}
		}
	}
}

func TestSoftmaxSumsToOneAndIsShiftInvariant(t *testing.T) {
	a, b := Softmax([]float32{1, 2, 3}), Softmax([]float32{101, 102, 103})
	var sum float64
	for i := range a {
		sum += a[i]
		if math.Abs(a[i]-b[i]) > 1e-12 {
			t.Errorf("softmax changes with a shift: %v vs %v", a, b)
		}
	}
	// Hand-computed: e^1 / (e^1 + e^2 + e^3).
	if math.Abs(sum-1) > 1e-15 || math.Abs(a[0]-math.E/(math.E+math.Exp(2)+math.Exp(3))) > 1e-15 {
		t.Errorf("softmax %v (sum %v)", a, sum)
	}
}

func TestModulesSortByLayerNumber(t *testing.T) {
	names := []string{"model.layers.10.mlp.up_proj", "model.layers.2.self_attn.q_proj", "model.layers.2.mlp.down_proj"}
	if !moduleLess(names[1], names[0]) || !moduleLess(names[2], names[1]) {
		t.Error("layer 2 must sort before layer 10, and within a layer by path")
	}
	if got := shortModule(names[0]); got != "L10.up_proj" {
		t.Errorf("shortModule = %q", got)
	}
}

func TestHeatmapOfConstantValuesSaves(t *testing.T) {
	// Equal weights everywhere (an untrained global mixer): the colour range must not be empty.
	mv := ModuleValues{Modules: []string{"L0.q_proj", "L0.v_proj"}, Values: [][]float64{{0.5, 0.5}, {0.5, 0.5}}, Runs: 1}
	dir := t.TempDir()
	if err := save(HeatmapPlot(mv, "t", "x"), 200, 200, dir, "h"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "h.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("h.png: %v", err)
	}
}
