package model

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
)

// Directional-derivative checks: the model computes in float32, so the loss carries ~1e-7
// relative noise; with a unit direction and step 1e-2 the central difference is good to ~1e-4
// of the derivative's scale. tolFD bounds |numeric − analytic| / max(|analytic|, fdFloor).
const (
	fdStep  = 1e-2
	tolFD   = 5 * numtest.FiniteDiff // through every layer of the model
	fdFloor = 1e-2
)

// tinyBatch returns random ids (B, T) and labels: the ids themselves (the loss shifts them) with
// a few positions ignored, plus a right-padded tail in the last row.
func tinyBatch(r *rand.Rand, V, B, T int) (ids, labels []int) {
	ids, labels = make([]int, B*T), make([]int, B*T)
	for i := range ids {
		ids[i] = r.Intn(V)
		labels[i] = ids[i]
	}
	labels[1] = IgnoreIndex
	labels[B*T-1], labels[B*T-2] = IgnoreIndex, IgnoreIndex
	return ids, labels
}

func forwardLoss(t *testing.T, m *Model, ids, labels []int, B, T int) float64 {
	t.Helper()
	out, err := m.Forward(ids, B, T, false)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Loss(out.Logits, labels, B, T, m.Config.VocabSize)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func unitDirection(r *rand.Rand, n int) []float32 {
	u := make([]float32, n)
	var s float64
	for i := range u {
		x := r.NormFloat64()
		u[i] = float32(x)
		s += x * x
	}
	for i := range u {
		u[i] /= float32(math.Sqrt(s))
	}
	return u
}

// checkDirectional compares Σ g·u with the central difference of the loss along u applied to w.
// It returns the relative error.
func checkDirectional(t *testing.T, name string, w, g []float32, r *rand.Rand, loss func() float64) float64 {
	t.Helper()
	u := unitDirection(r, len(w))
	var analytic float64
	for i := range u {
		analytic += float64(g[i]) * float64(u[i])
	}
	w0 := slices.Clone(w)
	for i := range w {
		w[i] = w0[i] + fdStep*u[i]
	}
	lp := loss()
	for i := range w {
		w[i] = w0[i] - fdStep*u[i]
	}
	lm := loss()
	copy(w, w0)
	numeric := (lp - lm) / (2 * fdStep)
	e := math.Abs(numeric-analytic) / math.Max(math.Abs(analytic), fdFloor)
	if !(e <= tolFD) {
		t.Errorf("%s: analytic %.6g, numeric %.6g, error %.3g > %.3g", name, analytic, numeric, e, tolFD)
	}
	return e
}

func tinyModel(t *testing.T, fam string) *Model {
	t.Helper()
	cfg := parseTiny(t, fam)
	m, err := FromSource(cfg, specSource(t, cfg, 11))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// smallAttnBlocks makes attention use blocks of 3 query rows for the rest of the test, so short
// test sequences exercise the blocked (and, with a sliding window, offset) key ranges.
func smallAttnBlocks(t *testing.T) {
	old := attnBlock
	attnBlock = 3
	t.Cleanup(func() { attnBlock = old })
}

func TestFullFineTuningGradientsMatchFiniteDifferences(t *testing.T) {
	smallAttnBlocks(t)
	for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			m := tinyModel(t, fam)
			r := rand.New(rand.NewSource(3))
			B, T := 2, 7
			ids, labels := tinyBatch(r, m.Config.VocabSize, B, T)
			m.EnableFullGrads()
			loss, err := m.ForwardBackward(ids, labels, B, T)
			if err != nil {
				t.Fatal(err)
			}
			fl := forwardLoss(t, m, ids, labels, B, T)
			if math.Abs(loss-fl) > numtest.F32*fl {
				t.Errorf("ForwardBackward loss %.8g differs from Forward+Loss %.8g", loss, fl)
			}
			params := m.Params()
			worst := 0.0
			for _, p := range params {
				if p.DW == nil {
					t.Fatalf("%s has no gradient after EnableFullGrads", p.Name)
				}
				worst = max(worst, checkDirectional(t, p.Name, p.W, p.DW, r, func() float64 { return forwardLoss(t, m, ids, labels, B, T) }))
			}
			t.Logf("checked %d parameters (loss %.6g): max relative error %.3g", len(params), loss, worst)
		})
	}
}

// attachLoRA puts a random LoRA update on every linear layer.
func attachLoRA(m *Model, r *rand.Rand, rank int) map[string]*loraDelta {
	ds := map[string]*loraDelta{}
	for _, l := range m.Linears() {
		A, B := make([]float32, rank*l.In), make([]float32, l.Out*rank)
		for i := range A {
			A[i] = float32(0.3 * r.NormFloat64())
		}
		for i := range B {
			B[i] = float32(0.3 * r.NormFloat64())
		}
		d := newLoRA(l.In, l.Out, rank, 0.5, A, B)
		l.Delta = d
		ds[l.Path] = d
	}
	return ds
}

func TestFrozenBaseAdapterGradientsMatchFiniteDifferences(t *testing.T) {
	smallAttnBlocks(t)
	for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			m := tinyModel(t, fam)
			r := rand.New(rand.NewSource(5))
			ds := attachLoRA(m, r, 3)
			B, T := 2, 6
			ids, labels := tinyBatch(r, m.Config.VocabSize, B, T)
			before := map[string][]float32{}
			for _, p := range m.Params() {
				before[p.Name] = slices.Clone(p.W)
			}
			if _, err := m.ForwardBackward(ids, labels, B, T); err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				if p.DW != nil {
					t.Errorf("%s: frozen base got a gradient buffer", p.Name)
				}
				if !slices.Equal(p.W, before[p.Name]) {
					t.Errorf("%s: base weight changed during ForwardBackward", p.Name)
				}
			}
			loss := func() float64 { return forwardLoss(t, m, ids, labels, B, T) }
			worst := 0.0
			for _, l := range m.Linears() {
				d := ds[l.Path]
				worst = max(worst, checkDirectional(t, l.Path+".lora_A", d.A, d.dA, r, loss))
				worst = max(worst, checkDirectional(t, l.Path+".lora_B", d.B, d.dB, r, loss))
			}
			t.Logf("checked %d adapted linears: max relative error %.3g", len(m.Linears()), worst)
		})
	}
}

func TestGradientsAccumulateAndZero(t *testing.T) {
	m := tinyModel(t, "qwen2")
	r := rand.New(rand.NewSource(9))
	B, T := 2, 5
	ids, labels := tinyBatch(r, m.Config.VocabSize, B, T)
	m.EnableFullGrads()
	if _, err := m.ForwardBackward(ids, labels, B, T); err != nil {
		t.Fatal(err)
	}
	var once [][]float32
	for _, p := range m.Params() {
		once = append(once, slices.Clone(p.DW))
	}
	if _, err := m.ForwardBackward(ids, labels, B, T); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		for j := range p.DW {
			if math.Abs(float64(p.DW[j]-2*once[i][j])) > numtest.F32*math.Max(1, math.Abs(float64(once[i][j]))) {
				t.Fatalf("%s[%d]: two passes gave %g, one pass %g", p.Name, j, p.DW[j], once[i][j])
			}
		}
	}
	m.ZeroGrads()
	for _, p := range m.Params() {
		for _, g := range p.DW {
			if g != 0 {
				t.Fatalf("%s: gradient not zeroed", p.Name)
			}
		}
	}
}

func TestForwardBackwardSumScalesGradients(t *testing.T) {
	m := tinyModel(t, "gpt2")
	r := rand.New(rand.NewSource(4))
	B, T := 2, 5
	ids, labels := tinyBatch(r, m.Config.VocabSize, B, T)
	m.EnableFullGrads()
	mean, err := m.ForwardBackward(ids, labels, B, T)
	if err != nil {
		t.Fatal(err)
	}
	var ref [][]float32
	for _, p := range m.Params() {
		ref = append(ref, slices.Clone(p.DW))
	}
	m.ZeroGrads()
	sum, n, err := m.ForwardBackwardSum(ids, labels, B, T, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 || math.Abs(sum/float64(n)-mean) > numtest.F32*mean {
		t.Errorf("sum %g over %d targets, mean %g (expected 5 targets)", sum, n, mean)
	}
	// gradient of 0.25·sum = 0.25·n·(gradient of the mean)
	f := float32(0.25 * float64(n))
	for i, p := range m.Params() {
		for j := range p.DW {
			if d := math.Abs(float64(p.DW[j] - f*ref[i][j])); d > numtest.F32*math.Max(1, math.Abs(float64(p.DW[j]))) {
				t.Fatalf("%s[%d]: %g, expected %g", p.Name, j, p.DW[j], f*ref[i][j])
			}
		}
	}
}
