package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// Forward tolerance against the float64 naive references: a few float32 ulps on O(1) values.
const tolF32 = 2e-5

// Backward tolerance against float64 central differences of the naive reference (step 1e-6).
const tolGrad = 2e-4

func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

func to64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}

// maxErr returns max |got − want| / max(1, |want|).
func maxErr(got []float32, want []float64) float64 {
	var m float64
	for i := range want {
		e := math.Abs(float64(got[i])-want[i]) / math.Max(1, math.Abs(want[i]))
		if e > m || math.IsNaN(e) {
			m = e
		}
	}
	return m
}

// numGrad returns d/dp Σ dout·f(p) by float64 central differences, for every element of p.
func numGrad(p []float64, dout []float64, f func([]float64) []float64) []float64 {
	g := make([]float64, len(p))
	const h = 1e-6
	for i := range p {
		old := p[i]
		p[i] = old + h
		fp := f(p)
		p[i] = old - h
		fm := f(p)
		p[i] = old
		var s float64
		for j := range dout {
			s += dout[j] * (fp[j] - fm[j])
		}
		g[i] = s / (2 * h)
	}
	return g
}

func check(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	e := maxErr(got, want)
	t.Logf("%s: max error %.3g", name, e)
	if !(e <= tol) {
		t.Errorf("%s: max error %.3g > %.3g", name, e, tol)
	}
}

// Naive float64 references.

func rmsNormRef(x, w []float64, n, d int, eps float64) []float64 {
	out := make([]float64, n*d)
	for i := 0; i < n; i++ {
		var ss float64
		for j := 0; j < d; j++ {
			ss += x[i*d+j] * x[i*d+j]
		}
		r := 1 / math.Sqrt(ss/float64(d)+eps)
		for j := 0; j < d; j++ {
			out[i*d+j] = w[j] * x[i*d+j] * r
		}
	}
	return out
}

func layerNormRef(x, w, b []float64, n, d int, eps float64) []float64 {
	out := make([]float64, n*d)
	for i := 0; i < n; i++ {
		var s, ss float64
		for j := 0; j < d; j++ {
			s += x[i*d+j]
		}
		mu := s / float64(d)
		for j := 0; j < d; j++ {
			ss += (x[i*d+j] - mu) * (x[i*d+j] - mu)
		}
		r := 1 / math.Sqrt(ss/float64(d)+eps)
		for j := 0; j < d; j++ {
			out[i*d+j] = (x[i*d+j]-mu)*r*w[j] + b[j]
		}
	}
	return out
}

func TestRMSNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	n, d := 5, 37
	x, w, dout := randVec(r, n*d, 1), randVec(r, d, 1), randVec(r, n*d, 1)
	out, rstd := make([]float32, n*d), make([]float32, n)
	RMSNormForward(out, rstd, x, w, n, d, 1e-5)
	x64, w64 := to64(x), to64(w)
	check(t, "forward", out, rmsNormRef(x64, w64, n, d, 1e-5), tolF32)

	dx, dw := randVec(r, n*d, 1), make([]float32, d)
	dx0 := append([]float32(nil), dx...)
	RMSNormBackward(dx, dw, dout, x, w, rstd, n, d)
	for i := range dx {
		dx[i] -= dx0[i] // dx is accumulated into
	}
	check(t, "dx", dx, numGrad(x64, to64(dout), func(p []float64) []float64 { return rmsNormRef(p, w64, n, d, 1e-5) }), tolGrad)
	check(t, "dw", dw, numGrad(w64, to64(dout), func(p []float64) []float64 { return rmsNormRef(x64, p, n, d, 1e-5) }), tolGrad)
	// Without dw (frozen weights) dx must come out the same.
	dxNil := append([]float32(nil), dx0...)
	RMSNormBackward(dxNil, nil, dout, x, w, rstd, n, d)
	for i := range dxNil {
		if got := dxNil[i] - dx0[i]; got != dx[i] {
			t.Fatalf("dx[%d] with dw nil: %v, with dw: %v", i, got, dx[i])
		}
	}
}

func TestLayerNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	n, d := 3, 29
	x, w, b, dout := randVec(r, n*d, 2), randVec(r, d, 1), randVec(r, d, 1), randVec(r, n*d, 1)
	for i := range x {
		x[i] += 0.7 // a non-zero mean
	}
	out, mean, rstd := make([]float32, n*d), make([]float32, n), make([]float32, n)
	LayerNormForward(out, mean, rstd, x, w, b, n, d, 1e-5)
	x64, w64, b64 := to64(x), to64(w), to64(b)
	check(t, "forward", out, layerNormRef(x64, w64, b64, n, d, 1e-5), tolF32)

	dx, dw, db := make([]float32, n*d), make([]float32, d), make([]float32, d)
	LayerNormBackward(dx, dw, db, dout, x, w, mean, rstd, n, d)
	d64 := to64(dout)
	check(t, "dx", dx, numGrad(x64, d64, func(p []float64) []float64 { return layerNormRef(p, w64, b64, n, d, 1e-5) }), tolGrad)
	check(t, "dw", dw, numGrad(w64, d64, func(p []float64) []float64 { return layerNormRef(x64, p, b64, n, d, 1e-5) }), tolGrad)
	check(t, "db", db, numGrad(b64, d64, func(p []float64) []float64 { return layerNormRef(x64, w64, p, n, d, 1e-5) }), tolGrad)
}

func TestSwiGLUMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	n := 53
	g, u, dh := randVec(r, n, 2), randVec(r, n, 1), randVec(r, n, 1)
	ref := func(g, u []float64) []float64 {
		o := make([]float64, n)
		for i := range o {
			o[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		return o
	}
	h := make([]float32, n)
	SwiGLUForward(h, g, u, n)
	g64, u64 := to64(g), to64(u)
	check(t, "forward", h, ref(g64, u64), tolF32)
	dg, du := make([]float32, n), make([]float32, n)
	SwiGLUBackward(dg, du, dh, g, u, n)
	check(t, "dg", dg, numGrad(g64, to64(dh), func(p []float64) []float64 { return ref(p, u64) }), tolGrad)
	check(t, "du", du, numGrad(u64, to64(dh), func(p []float64) []float64 { return ref(g64, p) }), tolGrad)
}

func TestGELUMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	n := 61
	x, dh := randVec(r, n, 2), randVec(r, n, 1)
	x64 := to64(x)
	tanhRef := func(x []float64) []float64 {
		o := make([]float64, n)
		for i, v := range x {
			o[i] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		}
		return o
	}
	erfRef := func(x []float64) []float64 {
		o := make([]float64, n)
		for i, v := range x {
			o[i] = v * 0.5 * math.Erfc(-v/math.Sqrt2)
		}
		return o
	}
	h, dx := make([]float32, n), make([]float32, n)
	GELUTanhForward(h, x, n)
	check(t, "tanh forward", h, tanhRef(x64), tolF32)
	GELUTanhBackward(dx, dh, x, n)
	check(t, "tanh dx", dx, numGrad(x64, to64(dh), tanhRef), tolGrad)
	clear(dx)
	GELUErfForward(h, x, n)
	check(t, "erf forward", h, erfRef(x64), tolF32)
	GELUErfBackward(dx, dh, x, n)
	check(t, "erf dx", dx, numGrad(x64, to64(dh), erfRef), tolGrad)
}

func softmaxRef(x []float64) []float64 {
	o := make([]float64, len(x))
	var s float64
	for i, v := range x {
		o[i] = math.Exp(v)
		s += o[i]
	}
	for i := range o {
		o[i] /= s
	}
	return o
}

func TestSoftmaxMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	n := 41
	x, dy := randVec(r, n, 3), randVec(r, n, 1)
	x[7] = 80 // the max shift must keep exp finite
	x64 := to64(x)
	y := append([]float32(nil), x...)
	SoftmaxForward(y)
	check(t, "forward", y, softmaxRef(x64), tolF32)
	dx := make([]float32, n)
	SoftmaxBackward(dx, y, dy)
	x[7] = 1 // finite differences near a saturated softmax say little; use a moderate row
	x64 = to64(x)
	y = append(y[:0], x...)
	SoftmaxForward(y)
	SoftmaxBackward(dx, y, dy)
	check(t, "dx", dx, numGrad(x64, to64(dy), softmaxRef), tolGrad)
}

func TestCrossEntropyMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	v := 97
	logits := randVec(r, v, 4)
	target := 13
	ref := func(l []float64) []float64 {
		p := softmaxRef(l)
		return []float64{-math.Log(p[target])}
	}
	l64 := to64(logits)
	dl := make([]float32, v)
	loss := CrossEntropy(dl, logits, target, 0.5)
	want := ref(l64)[0]
	t.Logf("loss %.8g want %.8g", loss, want)
	if math.Abs(loss-want) > 1e-6*math.Max(1, want) {
		t.Errorf("loss %.8g, want %.8g", loss, want)
	}
	check(t, "dlogits", dl, numGrad(l64, []float64{0.5}, ref), tolGrad)
	// In place (dlogits aliases logits).
	cp := append([]float32(nil), logits...)
	CrossEntropy(cp, cp, target, 0.5)
	for i := range cp {
		if cp[i] != dl[i] {
			t.Fatalf("in-place gradient differs at %d: %g vs %g", i, cp[i], dl[i])
		}
	}
}

func TestRoPEMatchesReferenceAndInverts(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	nh, hd := 3, 14
	x := randVec(r, nh*hd, 1)
	cos, sin := make([]float32, hd/2), make([]float32, hd/2)
	want := make([]float64, nh*hd)
	for i := range cos {
		a := r.Float64() * 6
		cos[i], sin[i] = float32(math.Cos(a)), float32(math.Sin(a))
	}
	for h := 0; h < nh; h++ {
		for i := 0; i < hd/2; i++ {
			a, b := float64(x[h*hd+i]), float64(x[h*hd+hd/2+i])
			c, s := float64(cos[i]), float64(sin[i])
			want[h*hd+i] = a*c - b*s
			want[h*hd+hd/2+i] = b*c + a*s
		}
	}
	y := append([]float32(nil), x...)
	RoPE(y, nh, hd, cos, sin, false)
	check(t, "forward", y, want, tolF32)
	RoPE(y, nh, hd, cos, sin, true)
	check(t, "inverse∘forward", y, to64(x), tolF32)
}

func TestRMSNormOffsetMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	n, d := 4, 33
	x, w, dout := randVec(r, n*d, 1), randVec(r, d, 0.3), randVec(r, n*d, 1)
	out, rstd := make([]float32, n*d), make([]float32, n)
	RMSNormOffsetForward(out, rstd, x, w, 1, n, d, 1e-6)
	x64, w64 := to64(x), to64(w)
	shifted := func(w []float64) []float64 {
		o := make([]float64, len(w))
		for i, v := range w {
			o[i] = 1 + v
		}
		return o
	}
	check(t, "forward", out, rmsNormRef(x64, shifted(w64), n, d, 1e-6), tolF32)
	dx, dw := make([]float32, n*d), make([]float32, d)
	RMSNormOffsetBackward(dx, dw, dout, x, w, 1, rstd, n, d)
	check(t, "dx", dx, numGrad(x64, to64(dout), func(p []float64) []float64 { return rmsNormRef(p, shifted(w64), n, d, 1e-6) }), tolGrad)
	check(t, "dw", dw, numGrad(w64, to64(dout), func(p []float64) []float64 { return rmsNormRef(x64, shifted(p), n, d, 1e-6) }), tolGrad)
	// off = 0 is the plain RMSNorm.
	plain := make([]float32, n*d)
	RMSNormForward(plain, nil, x, w, n, d, 1e-6)
	RMSNormOffsetForward(out, nil, x, w, 0, n, d, 1e-6)
	check(t, "offset 0 vs RMSNormForward", out, to64(plain), tolF32)
}

func TestGELUTanhGatedMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	n := 41
	g, u, dh := randVec(r, n, 2), randVec(r, n, 1), randVec(r, n, 1)
	ref := func(g, u []float64) []float64 {
		o := make([]float64, n)
		for i := range o {
			v := g[i]
			o[i] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))) * u[i]
		}
		return o
	}
	h := make([]float32, n)
	GELUTanhGatedForward(h, g, u, n)
	g64, u64 := to64(g), to64(u)
	check(t, "forward", h, ref(g64, u64), tolF32)
	dg, du := make([]float32, n), make([]float32, n)
	GELUTanhGatedBackward(dg, du, dh, g, u, n)
	check(t, "dg", dg, numGrad(g64, to64(dh), func(p []float64) []float64 { return ref(p, u64) }), tolGrad)
	check(t, "du", du, numGrad(u64, to64(dh), func(p []float64) []float64 { return ref(g64, p) }), tolGrad)
}
