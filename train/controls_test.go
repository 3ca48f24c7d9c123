package train

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/adapter"
)

// The folded control trains exactly as plain LoRA started from A' = M·A: same tensors, bit for
// bit, after 7 updates (dropout, data order and B's init depend on the seed only).
func TestFoldedControlTrainsAsLoRAFromFoldedA(t *testing.T) {
	dir := t.TempDir()
	fj := tinyJob(t, "moslora-folded", filepath.Join(dir, "folded"))
	var initA map[string][]float32
	fj.start = func(a *adapter.Adapter) {
		initA = map[string][]float32{}
		for _, l := range a.Linears {
			initA[l.Path] = append([]float32(nil), l.A...)
		}
	}
	fres, err := Run(context.Background(), fj)
	if err != nil {
		t.Fatal(err)
	}
	lj := tinyJob(t, MethodLoRA, filepath.Join(dir, "lora"))
	lj.start = func(a *adapter.Adapter) {
		for _, l := range a.Linears {
			copy(l.A, initA[l.Path])
		}
	}
	lres, err := Run(context.Background(), lj)
	if err != nil {
		t.Fatal(err)
	}
	f, l := trained(fj, fres), trained(lj, lres)
	if len(f) != len(l) || len(f) == 0 {
		t.Fatalf("folded has %d tensors, LoRA %d", len(f), len(l))
	}
	moved := false
	for name, w := range f {
		g, ok := l[name]
		if !ok {
			t.Fatalf("%s: not in the LoRA adapter", name)
		}
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
				t.Fatalf("%s[%d]: folded %v, LoRA from A' %v", name, i, w[i], g[i])
			}
		}
	}
	for _, lin := range fres.Adapter.Linears {
		for i, v := range lin.A {
			if v != initA[lin.Path][i] {
				moved = true
			}
		}
	}
	if !moved {
		t.Error("training did not move A': the comparison would hold trivially")
	}
	if fres.FinalLoss != lres.FinalLoss {
		t.Errorf("final loss %v (folded) vs %v (LoRA from A')", fres.FinalLoss, lres.FinalLoss)
	}
}
