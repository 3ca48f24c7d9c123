package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
)

// adamwRef is the float64 reference of torch.optim.AdamW for `steps` updates with the gradient
// sequence grads[t] (the formulas of torch's documentation, written out directly).
func adamwRef(p0 []float64, grads [][]float64, c AdamWConfig) []float64 {
	p := append([]float64(nil), p0...)
	m := make([]float64, len(p))
	v := make([]float64, len(p))
	for t, g := range grads {
		step := float64(t + 1)
		for i := range p {
			p[i] -= c.LR * c.WeightDecay * p[i]
			m[i] = c.Beta1*m[i] + (1-c.Beta1)*g[i]
			v[i] = c.Beta2*v[i] + (1-c.Beta2)*g[i]*g[i]
			mhat := m[i] / (1 - math.Pow(c.Beta1, step))
			vhat := v[i] / (1 - math.Pow(c.Beta2, step))
			p[i] -= c.LR * mhat / (math.Sqrt(vhat) + c.Eps)
		}
	}
	return p
}

func adamwRandom(r *rand.Rand, n int, scale float64) ([]float32, []float64) {
	f := make([]float32, n)
	d := make([]float64, n)
	for i := range f {
		f[i] = float32((2*r.Float64() - 1) * scale)
		d[i] = float64(f[i])
	}
	return f, d
}

func TestAdamWStepMatchesFloat64Reference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []AdamWConfig{
		{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01},
		{LR: 3e-4, Beta1: 0.8, Beta2: 0.95, Eps: 1e-6, WeightDecay: 0},
		DefaultAdamW(),
	} {
		const n, steps = 37, 5
		p, p64 := adamwRandom(r, n, 1)
		var g32 [][]float32
		var g64 [][]float64
		for s := 0; s < steps; s++ {
			g, gd := adamwRandom(r, n, 0.1)
			g[3], gd[3] = 0, 0 // a zero gradient: only decay moves it
			g32, g64 = append(g32, g), append(g64, gd)
		}
		st := NewAdamWState(n)
		for s := 0; s < steps; s++ {
			AdamWStep(p, g32[s], st, c)
		}
		want := adamwRef(p64, g64, c)
		var worst float64
		for i := range p {
			e := math.Abs(float64(p[i])-want[i]) / math.Max(math.Abs(want[i]), 1e-3)
			worst = math.Max(worst, e)
		}
		t.Logf("%+v: max rel err %.3g after %d steps", c, worst, steps)
		if worst > numtest.F32 || st.Step != steps {
			t.Fatalf("AdamW differs from the float64 reference: max rel err %.3g (step %d)", worst, st.Step)
		}
	}
}

func TestAdamWWeightDecayIsDecoupled(t *testing.T) {
	// With g = 0 and zero moments the Adam term is 0/(0+eps) = 0: only p·(1−lr·wd) remains.
	p := []float32{2, -4}
	st := NewAdamWState(2)
	AdamWStep(p, []float32{0, 0}, st, AdamWConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5})
	if math.Abs(float64(p[0])-1.9) > numtest.F32 || math.Abs(float64(p[1])+3.8) > numtest.F32 {
		t.Fatalf("decoupled decay: got %v, want [1.9 -3.8]", p)
	}
}

func TestClipGradNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, ad := adamwRandom(r, 13, 1)
	b, bd := adamwRandom(r, 7, 2)
	var sum float64
	for _, v := range append(append([]float64(nil), ad...), bd...) {
		sum += v * v
	}
	total := math.Sqrt(sum)
	got := ClipGradNorm([][]float32{a, b}, 0.5)
	if math.Abs(got-total)/total > numtest.F32 {
		t.Fatalf("total norm %v, want %v", got, total)
	}
	coef := 0.5 / (total + 1e-6)
	var worst float64
	for i, v := range a {
		worst = math.Max(worst, math.Abs(float64(v)-ad[i]*coef)/math.Abs(ad[i]*coef))
	}
	for i, v := range b {
		worst = math.Max(worst, math.Abs(float64(v)-bd[i]*coef)/math.Abs(bd[i]*coef))
	}
	t.Logf("clip: total %.6g, max rel err of clipped grads %.3g", total, worst)
	if worst > numtest.F32 {
		t.Fatalf("clipped gradients off by %.3g relative", worst)
	}
	// Below the threshold nothing changes.
	c := []float32{0.1, 0.2}
	if n := ClipGradNorm([][]float32{c}, 10); c[0] != 0.1 || c[1] != 0.2 || math.Abs(n-math.Sqrt(0.05)) > numtest.F32 {
		t.Fatalf("unclipped gradients changed: %v (norm %v)", c, n)
	}
}

// withProcs runs fn with GOMAXPROCS set to n.
func withProcs(n int, fn func()) {
	old := runtime.GOMAXPROCS(n)
	defer runtime.GOMAXPROCS(old)
	fn()
}

// TestAdamWStepGivesTheSerialLoopsBitsAtAnyThreadCount: an update split across goroutines equals
// the serial loop (adamWRange over the whole tensor) bit for bit, at 1, 2 and 5 threads.
func TestAdamWStepGivesTheSerialLoopsBitsAtAnyThreadCount(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 3*parallelGrain + 17
	p0, _ := adamwRandom(r, n, 1)
	g, _ := adamwRandom(r, n, 0.1)
	c := AdamWConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	want := append([]float32(nil), p0...)
	ws := NewAdamWState(n)
	for step := 1; step <= 2; step++ {
		adamWRange(want, g, ws.M, ws.V, adamWScalars(c, step))
	}
	for _, procs := range []int{1, 2, 5} {
		p := append([]float32(nil), p0...)
		st := NewAdamWState(n)
		withProcs(procs, func() {
			AdamWStep(p, g, st, c)
			AdamWStep(p, g, st, c)
		})
		for i := range p {
			if math.Float32bits(p[i]) != math.Float32bits(want[i]) || st.M[i] != ws.M[i] || st.V[i] != ws.V[i] {
				t.Fatalf("%d threads: p[%d] = %v, serial %v", procs, i, p[i], want[i])
			}
		}
	}
}

// TestClipGradNormDoesNotDependOnThreadCount: the total norm and the clipped gradients are the
// same bits at 1, 2 and 7 threads (a fixed summation order), for tensors of many chunks beside
// small ones.
func TestClipGradNormDoesNotDependOnThreadCount(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	sizes := []int{5, 9*normChunk + 3, 1, 2*parallelGrain + 11, normChunk}
	var orig [][]float32
	for _, n := range sizes {
		g, _ := adamwRandom(r, n, 1)
		orig = append(orig, g)
	}
	var ref float64
	var refGrads [][]float32
	for i, procs := range []int{1, 2, 7} {
		grads := make([][]float32, len(orig))
		for j, g := range orig {
			grads[j] = append([]float32(nil), g...)
		}
		var total float64
		withProcs(procs, func() { total = ClipGradNorm(grads, 3) })
		if i == 0 {
			ref, refGrads = total, grads
			if total < 3 {
				t.Fatalf("total %v: the test needs clipping to happen", total)
			}
			continue
		}
		if math.Float64bits(total) != math.Float64bits(ref) {
			t.Fatalf("%d threads: total %v, 1 thread %v", procs, total, ref)
		}
		for j := range grads {
			for k := range grads[j] {
				if math.Float32bits(grads[j][k]) != math.Float32bits(refGrads[j][k]) {
					t.Fatalf("%d threads: clipped grad %d[%d] = %v, 1 thread %v", procs, j, k, grads[j][k], refGrads[j][k])
				}
			}
		}
	}
}
