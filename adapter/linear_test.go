package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/numtest"
)

// refParams is a float64 copy of a Linear's parameters for the naive reference.
type refParams struct {
	A, B, M, Pi, G, C []float64
}

func to64(v []float32) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func paramsOf(l *Linear) refParams {
	return refParams{A: to64(l.A), B: to64(l.B), M: to64(mixerW(l, keyM)), Pi: to64(mixerW(l, keyPi)), G: to64(mixerW(l, keyG)), C: to64(mixerW(l, keyC))}
}

func softmax64(v []float64) []float64 {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = math.Max(mx, x)
	}
	out := make([]float64, len(v))
	var s float64
	for i, x := range v {
		out[i] = math.Exp(x - mx)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// topK64 is the top-k routed softmax of MixLoRA: the k largest logits (the lower index first
// among equal ones, by a stable sort) get softmax over those k, the others 0.
func topK64(lg []float64, k int) []float64 {
	idx := make([]int, len(lg))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lg[idx[a]] > lg[idx[b]] })
	sel := make([]float64, k)
	for i := range sel {
		sel[i] = lg[idx[i]]
	}
	sm := softmax64(sel)
	g := make([]float64, len(lg))
	for i := range sel {
		g[idx[i]] = sm[i]
	}
	return g
}

// refDelta is the naive float64 reference of the update s·B·mix(A·(x⊙mask), x), written token by
// token straight from the definitions in doc.go. mask nil means no dropout.
func refDelta(l *Linear, p refParams, x, mask []float64, n int) []float64 {
	r, in, out, k := l.R, l.In, l.Out, l.K
	bs := r / k
	y := make([]float64, n*out)
	for t := 0; t < n; t++ {
		xt := x[t*in : (t+1)*in]
		h := make([]float64, r)
		for j := 0; j < r; j++ {
			for i := 0; i < in; i++ {
				xi := xt[i]
				if mask != nil {
					xi *= mask[t*in+i]
				}
				h[j] += p.A[j*in+i] * xi
			}
		}
		z := make([]float64, r)
		switch mx := l.Mixer.(type) { // the float64 reference of each built-in mixer, from doc.go
		case *mixer.Identity:
			copy(z, h)
		case *mixer.Dense:
			for j := 0; j < r; j++ {
				for q := 0; q < r; q++ {
					z[j] += p.M[j*r+q] * h[q]
				}
			}
		case *mixer.Global:
			w := softmax64(p.Pi)
			for j := 0; j < r; j++ {
				z[j] = w[j/bs] * h[j]
			}
		case *mixer.Gated:
			lg := make([]float64, k)
			for m := 0; m < k; m++ {
				lg[m] = p.C[m]
				for i := 0; i < in; i++ {
					lg[m] += p.G[m*in+i] * xt[i]
				}
			}
			g := softmax64(lg)
			for j := 0; j < r; j++ {
				z[j] = g[j/bs] * h[j]
			}
		case *mixer.TopK:
			lg := make([]float64, k)
			for m := 0; m < k; m++ {
				lg[m] = p.C[m]
				for i := 0; i < in; i++ {
					lg[m] += p.G[m*in+i] * xt[i]
				}
			}
			g := topK64(lg, mx.Top)
			for j := 0; j < r; j++ {
				z[j] = g[j/bs] * h[j]
			}
		}
		for o := 0; o < out; o++ {
			for j := 0; j < r; j++ {
				y[t*out+o] += float64(l.Scale) * p.B[o*r+j] * z[j]
			}
		}
	}
	return y
}

// randomLinear builds a Linear with every parameter random (B nonzero, mixers off their init).
func randomLinear(mixer string, in, out, r, k int, seed uint64) *Linear {
	l := testLinear(mixer, in, out, r, k, 0.75)
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, p := range [][]float32{l.A, l.B, mixerW(l, keyM), mixerW(l, keyPi), mixerW(l, keyG), mixerW(l, keyC)} {
		for i := range p {
			p[i] = float32(2*rng.Float64() - 1)
		}
	}
	return l
}

func randomVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*rng.Float64() - 1)
	}
	return v
}

func TestForwardMatchesFloat64Reference(t *testing.T) {
	for _, mixer := range []string{MixerIdentity, MixerDense, MixerGlobal, MixerGated, MixerGatedTopK} {
		l := randomLinear(mixer, 11, 9, 6, 3, 1)
		rng := rand.New(rand.NewPCG(2, 3))
		const n = 5
		x := randomVec(rng, n*l.In)
		y0 := randomVec(rng, n*l.Out)
		y := append([]float32(nil), y0...)
		l.Forward(y, x, n)
		want := refDelta(l, paramsOf(l), to64(x), nil, n)
		for i := range want {
			want[i] += float64(y0[i])
		}
		e := numtest.MaxAbsDiff64(y, want)
		t.Logf("%s: forward max abs err %.3g", mixer, e)
		if e > numtest.F32 {
			t.Fatalf("%s: forward differs from the float64 reference by %.3g", mixer, e)
		}
	}
}

func TestIdentityMixerEqualsPlainLoRA(t *testing.T) {
	// y = x + s·B·A·x computed by hand, and a dense mixer with M = I gives the very same numbers.
	lora := randomLinear(MixerIdentity, 7, 5, 4, 1, 4)
	dense := testLinear(MixerDense, 7, 5, 4, 1, lora.Scale)
	copy(dense.A, lora.A)
	copy(dense.B, lora.B)
	mixer.Eye(mixerW(dense, keyM), 4)
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 3
	x := randomVec(rng, n*7)
	y1, y2 := make([]float32, n*5), make([]float32, n*5)
	lora.Forward(y1, x, n)
	dense.Forward(y2, x, n)
	var plain []float64
	for t := 0; t < n; t++ {
		for o := 0; o < 5; o++ {
			var s float64
			for j := 0; j < 4; j++ {
				var h float64
				for i := 0; i < 7; i++ {
					h += float64(lora.A[j*7+i]) * float64(x[t*7+i])
				}
				s += float64(lora.B[o*4+j]) * h
			}
			plain = append(plain, float64(lora.Scale)*s)
		}
	}
	if e := numtest.MaxAbsDiff64(y1, plain); e > numtest.F32 {
		t.Fatalf("identity mixer differs from s·B·A·x by %.3g", e)
	}
	for i := range y1 {
		if y1[i] != y2[i] {
			t.Fatalf("dense mixer with M = I differs from LoRA at %d: %v vs %v", i, y2[i], y1[i])
		}
	}
}

func TestZeroBAddsNothing(t *testing.T) {
	for _, mixer := range []string{MixerIdentity, MixerDense, MixerGlobal, MixerGated, MixerGatedTopK} {
		l := randomLinear(mixer, 6, 8, 4, 2, 9)
		clear(l.B)
		rng := rand.New(rand.NewPCG(1, 1))
		x := randomVec(rng, 3*6)
		y0 := randomVec(rng, 3*8)
		y := append([]float32(nil), y0...)
		l.Forward(y, x, 3)
		for i := range y {
			if y[i] != y0[i] {
				t.Fatalf("%s: B = 0 changed y[%d] from %v to %v", mixer, i, y0[i], y[i])
			}
		}
	}
}

// numGrad returns the central finite difference of f with respect to each element of p.
func numGrad(p []float64, f func() float64) []float64 {
	const h = 1e-6
	g := make([]float64, len(p))
	for i := range p {
		old := p[i]
		p[i] = old + h
		fp := f()
		p[i] = old - h
		fm := f()
		p[i] = old
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	for _, dropout := range []float32{0, 0.3} {
		for _, mixer := range []string{MixerIdentity, MixerDense, MixerGlobal, MixerGated, MixerGatedTopK} {
			name := fmt.Sprintf("%s/dropout=%v", mixer, dropout)
			l := randomLinear(mixer, 7, 5, 6, 3, 11)
			l.Dropout = dropout
			l.SetTraining(true)
			rng := rand.New(rand.NewPCG(12, 13))
			const n = 4
			x := randomVec(rng, n*l.In)
			wy := randomVec(rng, n*l.Out) // loss = Σ wy ⊙ y  ⇒  dy = wy
			y := make([]float32, n*l.Out)
			l.Forward(y, x, n)
			var mask []float64
			if dropout > 0 {
				mask = to64(l.mask)
			}
			dx := make([]float32, n*l.In)
			l.Backward(dx, wy, x, n)

			p := paramsOf(l)
			x64 := to64(x)
			loss := func() float64 {
				d := refDelta(l, p, x64, mask, n)
				var s float64
				for i := range d {
					s += d[i] * float64(wy[i])
				}
				return s
			}
			checks := []struct {
				name string
				got  []float32
				p    []float64
			}{{"A", l.DA, p.A}, {"B", l.DB, p.B}, {"M", mixerG(l, keyM), p.M}, {"pi", mixerG(l, keyPi), p.Pi},
				{"G", mixerG(l, keyG), p.G}, {"c", mixerG(l, keyC), p.C}, {"x", dx, x64}}
			for _, c := range checks {
				if c.p == nil {
					continue
				}
				want := numGrad(c.p, loss)
				e := numtest.RelL264(c.got, want)
				t.Logf("%s: d%s rel L2 err %.3g", name, c.name, e)
				if e > numtest.F32 {
					t.Errorf("%s: d%s differs from finite differences: rel L2 err %.3g", name, c.name, e)
				}
			}
		}
	}
}

func TestBackwardAccumulatesAndZeroGradClears(t *testing.T) {
	l := randomLinear(MixerGlobal, 5, 4, 4, 2, 3)
	rng := rand.New(rand.NewPCG(4, 4))
	x, dy := randomVec(rng, 2*5), randomVec(rng, 2*4)
	y := make([]float32, 2*4)
	l.Forward(y, x, 2)
	l.Backward(nil, dy, x, 2)
	once := append([]float32(nil), l.DA...)
	l.Forward(y, x, 2)
	l.Backward(nil, dy, x, 2)
	for i := range once {
		if math.Abs(float64(l.DA[i]-2*once[i])) > numtest.F32*math.Max(1, math.Abs(float64(once[i]))) {
			t.Fatalf("gradients do not accumulate: %v after two passes, %v after one", l.DA[i], once[i])
		}
	}
	l.ZeroGrad()
	for _, g := range [][]float32{l.DA, l.DB, mixerG(l, keyPi)} {
		for _, v := range g {
			if v != 0 {
				t.Fatal("ZeroGrad left a nonzero gradient")
			}
		}
	}
}

func TestDropoutOnlyInTrainingAndDeterministic(t *testing.T) {
	mk := func() *Linear {
		l := randomLinear(MixerIdentity, 16, 4, 2, 1, 5)
		l.Dropout = 0.5
		l.rng = newRNG(42, "dropout", l.Path)
		return l
	}
	rng := rand.New(rand.NewPCG(8, 8))
	x := randomVec(rng, 3*16)
	run := func(l *Linear) []float32 {
		y := make([]float32, 3*4)
		l.Forward(y, x, 3)
		return y
	}
	a, b := mk(), mk()
	evalOut := run(a)
	want := refDelta(a, paramsOf(a), to64(x), nil, 3)
	if e := numtest.MaxAbsDiff64(evalOut, want); e > numtest.F32 {
		t.Fatalf("eval mode applied dropout: err %.3g", e)
	}
	a.SetTraining(true)
	b.SetTraining(true)
	ya, yb := run(a), run(b)
	zeros := 0
	for i := range ya {
		if ya[i] != yb[i] {
			t.Fatalf("same seed gave different dropout masks")
		}
	}
	for _, m := range a.mask {
		if m == 0 {
			zeros++
		}
	}
	if zeros == 0 || zeros == len(a.mask) {
		t.Fatalf("dropout 0.5 zeroed %d of %d inputs", zeros, len(a.mask))
	}
}

func TestInitialisation(t *testing.T) {
	rng := newRNG(1, "init", "p")
	w := make([]float32, 64*100)
	mixer.KaimingUniform(w, 100, rng)
	bound := 1 / math.Sqrt(100) // gain √(1/3) · √(3/fan_in)
	var mx float64
	for _, v := range w {
		mx = math.Max(mx, math.Abs(float64(v)))
	}
	if mx > bound || mx < 0.95*bound {
		t.Fatalf("kaiming-uniform(a=√5) max |w| = %v, want just under %v", mx, bound)
	}
	q := make([]float32, 6*6)
	mixer.Orthogonal(q, 6, rng)
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			var d float64
			for k := 0; k < 6; k++ {
				d += float64(q[k*6+i]) * float64(q[k*6+j])
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(d-want) > numtest.F32 {
				t.Fatalf("orthogonal init: (QᵀQ)[%d,%d] = %v", i, j, d)
			}
		}
	}
}
