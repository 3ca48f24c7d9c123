package adapter

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/model"
)

// linearOut computes what the model computes for one linear layer: x·Wᵀ (+ Delta(x)).
func linearOut(l *model.Linear, x []float32, n int) []float32 {
	y := make([]float32, n*l.Out)
	gemm.Sgemm(false, true, n, l.Out, l.In, 1, x, l.In, l.W, l.In, 0, y, l.Out)
	if d, ok := l.Delta.(*Linear); ok {
		d.Forward(y, x, n)
	}
	return y
}

// allOuts runs every linear of the base on its own random input.
func allOuts(b *fakeBase, xs [][]float32, n int) [][]float32 {
	var out [][]float32
	for i, l := range b.lins {
		out = append(out, linearOut(l, xs[i], n))
	}
	return out
}

func randomInputs(b *fakeBase, n int) [][]float32 {
	rng := rand.New(rand.NewPCG(21, 22))
	var xs [][]float32
	for _, l := range b.lins {
		xs = append(xs, randomVec(rng, n*l.In))
	}
	return xs
}

// trainedAdapter returns an adapter whose B (and mixer) are random, as after training.
func trainedAdapter(t *testing.T, b *fakeBase, js string) *Adapter {
	t.Helper()
	c := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "down_proj"], `+js+`}`)
	a, err := New(c, b, 5)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, l := range a.Linears {
		for _, p := range [][]float32{l.B, mixerW(l, keyPi), mixerW(l, keyC), mixerW(l, keyG)} {
			for i := range p {
				p[i] = float32(rng.NormFloat64() * 0.5)
			}
		}
	}
	return a
}

func maxDiff(a, b [][]float32) (worst float64) {
	for i := range a {
		worst = math.Max(worst, numtest.MaxAbsDiff(a[i], b[i]))
	}
	return worst
}

func TestFoldedAndMergedMatchUnfolded(t *testing.T) {
	const tol = numtest.F32
	for _, js := range []string{`"lora_use_mixer": true`, `"lora_use_mixer": true, "mixer_init": "orthogonal"`,
		`"moslora_mixer": "global", "moslora_subspaces": 2`, `"moslora_mixer": "identity"`} {
		b := llamaLikeBase(3)
		a := trainedAdapter(t, b, js)
		xs := randomInputs(b, 3)
		want := allOuts(b, xs, 3)
		w0 := make([][]float32, len(b.lins))
		for i, l := range b.lins {
			w0[i] = append([]float32(nil), l.W...)
		}

		if err := a.Merge(); err != nil {
			t.Fatalf("%s: merge: %v", js, err)
		}
		for _, l := range b.lins {
			if l.Delta != nil {
				t.Fatalf("%s: merged adapter still attached to %s", js, l.Path)
			}
		}
		merged := allOuts(b, xs, 3)
		if err := a.Unmerge(); err != nil {
			t.Fatalf("%s: unmerge: %v", js, err)
		}
		unmerged := allOuts(b, xs, 3)
		if err := a.Fold(); err != nil {
			t.Fatalf("%s: fold: %v", js, err)
		}
		folded := allOuts(b, xs, 3)
		em, eu, ef, ew := maxDiff(merged, want), maxDiff(unmerged, want), maxDiff(folded, want), maxDiff(w0, weights(b))
		t.Logf("%s: max abs err merged %.3g, unmerged %.3g, folded %.3g; W after unmerge %.3g", js, em, eu, ef, ew)
		if em > tol || eu > tol || ef > tol || ew > tol {
			t.Errorf("%s: outputs differ from the unfolded adapter beyond %g", js, tol)
		}
		if a.Config.MixerKind() != MixerIdentity || a.Config.LoraUseMixer {
			t.Errorf("%s: folded config still has a mixer: %+v", js, a.Config)
		}
		for _, p := range a.Params() {
			if !strings.HasSuffix(p.Key, ".lora_A.weight") && !strings.HasSuffix(p.Key, ".lora_B.weight") {
				t.Errorf("%s: folded adapter still has tensor %s", js, p.Key)
			}
		}
	}
}

func weights(b *fakeBase) [][]float32 {
	var w [][]float32
	for _, l := range b.lins {
		w = append(w, l.W)
	}
	return w
}

func TestGatedCannotMergeOrFold(t *testing.T) {
	for _, js := range []string{`"moslora_mixer": "gated", "moslora_subspaces": 2`, `"moslora_mixer": "gated-topk", "moslora_subspaces": 4, "moslora_top_k": 2`} {
		b := llamaLikeBase(4)
		a := trainedAdapter(t, b, js)
		for name, f := range map[string]func() error{"merge": a.Merge, "fold": a.Fold} {
			err := f()
			if err == nil || !strings.Contains(err.Error(), "gated") || !strings.Contains(err.Error(), "input") {
				t.Errorf("%s: %s: want an error explaining the input dependence, got %v", js, name, err)
			}
		}
	}
}

func TestMergeRefusesNonFiniteDelta(t *testing.T) {
	b := llamaLikeBase(5)
	a := trainedAdapter(t, b, `"lora_use_mixer": true`)
	w0 := append([]float32(nil), b.lins[0].W...)
	a.Linears[len(a.Linears)-1].B[3] = float32(math.Inf(1))
	err := a.Merge()
	if err == nil || !strings.Contains(err.Error(), "not finite") || !strings.Contains(err.Error(), a.Linears[len(a.Linears)-1].Path) {
		t.Fatalf("want a non-finite error naming the module, got %v", err)
	}
	for i, v := range b.lins[0].W {
		if v != w0[i] {
			t.Fatal("a refused merge changed the base weights")
		}
	}
	if b.lins[0].Delta == nil || a.Merged() {
		t.Fatal("a refused merge detached the adapter")
	}
}
