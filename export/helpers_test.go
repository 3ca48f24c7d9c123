package export

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// Tolerances: 1e-4 on logits of a reloaded merged checkpoint (float32 W + ΔW rounding against the
// unmerged computation on these tiny fixture models), 1e-5 for a re-loaded folded adapter against
// the unfolded one (only the float64-accumulated fold M·A is rounded), as in the adapter package.
const (
	tolMerged = numtest.F32Model
	tolFolded = numtest.F32
)

// fixture loads fixtures/hf/<family>/model with the adapter <dir> attached and the reference
// input ids of that adapter.
func fixture(t *testing.T, family, dir string) (modelDir string, m *model.Model, a *adapter.Adapter, ids []int, B, T int) {
	t.Helper()
	root := shared.Path(t, "fixtures", "hf", family)
	modelDir = filepath.Join(root, "model")
	m, err := model.Load(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	a, err = adapter.Load(filepath.Join(root, dir), m)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := safetensors.Open(filepath.Join(root, dir, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	v, info, err := ref.Int64("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v {
		ids = append(ids, int(x))
	}
	return modelDir, m, a, ids, info.Shape[0], info.Shape[1]
}

func logits(t *testing.T, m *model.Model, ids []int, B, T int) []float32 {
	t.Helper()
	out, err := m.Forward(ids, B, T, false)
	if err != nil {
		t.Fatal(err)
	}
	return out.Logits
}

func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	d := numtest.MaxAbsDiff(got, want)
	t.Logf("%s: max |Δ| %.3g", what, d)
	if !(d <= tol) {
		t.Errorf("%s: max |Δ| %.3g > %g (%d vs %d values)", what, d, tol, len(got), len(want))
	}
}

// entries lists the names in dir (hidden ones included, to catch leftover temporaries).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
