package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestExpMatchesMathExp(t *testing.T) {
	worst := 0.0
	for x := float32(-87.3); x < 88.7; x += 0.0137 {
		got, want := float64(Exp(x)), math.Exp(float64(x))
		if want < 0x1p-126 {
			continue
		}
		e := math.Abs(got-want) / want
		worst = math.Max(worst, e)
	}
	t.Logf("max relative error %.3g (float32 ulp %.3g)", worst, 0x1p-23)
	if worst > 2.5e-7 {
		t.Errorf("max relative error %.3g > 2.5e-7", worst)
	}
	if Exp(100) != float32(math.Inf(1)) || Exp(-100) != 0 || !math.IsNaN(float64(Exp(float32(math.NaN())))) || Exp(0) != 1 {
		t.Errorf("special values: Exp(100)=%g Exp(-100)=%g Exp(NaN)=%g Exp(0)=%g", Exp(100), Exp(-100), Exp(float32(math.NaN())), Exp(0))
	}
}

var expIn, expOut = func() ([]float32, []float32) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%1000) * -0.013
	}
	return x, make([]float32, 4096)
}()

func BenchmarkExp(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for j, x := range expIn {
			expOut[j] = Exp(x)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(expIn)), "ns/exp")
}

func BenchmarkMathExp(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for j, x := range expIn {
			expOut[j] = float32(math.Exp(float64(x)))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(expIn)), "ns/exp")
}

// TestExpSliceMatchesExp checks the vectorised ExpSlice against math.Exp (relative error) and the
// scalar Exp on odd lengths, in place and not, with special values in every lane position, and
// that it writes nothing past len(src).
func TestExpSliceMatchesExp(t *testing.T) {
	var xs []float32
	for x := float32(-87.3); x < 88.7; x += 0.0137 {
		xs = append(xs, x)
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	specials := []float32{100, -100, nan, 0, 88.72283, -87.33654, 88.8, -87.4, inf, -inf, 1e-30, -1e-30}
	for i, s := range specials {
		xs[i*13+i%8] = s // different lanes
	}
	worst, worstVsExp := 0.0, 0.0
	for _, n := range []int{0, 1, 7, 8, 9, 31, len(xs)} {
		for _, inPlace := range []bool{false, true} {
			src := append([]float32(nil), xs[:n]...)
			dst := make([]float32, n+3)
			for i := range dst {
				dst[i] = nan
			}
			if inPlace {
				copy(dst, src)
				ExpSlice(dst, dst[:n])
			} else {
				ExpSlice(dst, src)
			}
			for i, x := range xs[:n] {
				got, ref := float64(dst[i]), float64(Exp(x))
				want := math.Exp(float64(x))
				switch {
				case x != x:
					if got == got {
						t.Fatalf("n=%d: ExpSlice(NaN) = %g", n, got)
					}
				case want < 0x1p-126 || x < -87.33654:
					if got != 0 || ref != 0 {
						t.Fatalf("n=%d: ExpSlice(%g) = %g, Exp %g; want 0", n, x, got, ref)
					}
				case x > 88.72283:
					if !math.IsInf(got, 1) {
						t.Fatalf("n=%d: ExpSlice(%g) = %g, want +Inf", n, x, got)
					}
				default:
					e := math.Abs(got-want) / want
					if e > 2.5e-7 {
						t.Fatalf("n=%d: ExpSlice(%g) = %g, math.Exp %g (rel %.3g)", n, x, got, want, e)
					}
					worst = math.Max(worst, e)
					worstVsExp = math.Max(worstVsExp, math.Abs(got-ref)/ref)
				}
			}
			for i := n; i < len(dst); i++ {
				if dst[i] == dst[i] {
					t.Fatalf("n=%d: wrote dst[%d] past the end", n, i)
				}
			}
		}
	}
	t.Logf("max relative error vs math.Exp %.3g, vs Exp %.3g", worst, worstVsExp)
}

func BenchmarkExpSlice(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ExpSlice(expOut, expIn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(expIn)), "ns/exp")
}

// TestExpShiftSumAndMaxMatchReference checks the fused softmax helpers against their scalar
// references on odd lengths: expShiftSum's exponentials within 2.5e-7 relative of expShiftSumGo's
// and its float64 sum within 1e-6 relative; maxOf exactly (the max sits in every position).
func TestExpShiftSumAndMaxMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	worstE, worstS := 0.0, 0.0
	for _, n := range []int{1, 3, 7, 8, 9, 16, 17, 63, 100, 1001} {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(rng.NormFloat64() * 10)
		}
		for pos := 0; pos < n; pos += max(1, n/7) {
			x := append([]float32(nil), src...)
			x[pos] = 1000
			if got := maxOf(x); got != 1000 {
				t.Fatalf("n=%d: maxOf with the max at %d = %g", n, pos, got)
			}
		}
		shift := maxOfGo(src[1:], src[0])
		if got := maxOf(src); got != shift {
			t.Fatalf("n=%d: maxOf = %g, reference %g", n, got, shift)
		}
		want, got := make([]float32, n), make([]float32, n+2)
		got[n], got[n+1] = -1, -1
		ws := expShiftSumGo(want, src, shift)
		gs := expShiftSum(got, src, shift)
		for i := range want {
			if e := math.Abs(float64(got[i]-want[i])) / max(float64(want[i]), 1e-30); e > 2.5e-7 && want[i] > 0x1p-126 {
				t.Fatalf("n=%d: exp[%d] = %g, reference %g", n, i, got[i], want[i])
			} else if want[i] > 0x1p-126 {
				worstE = max(worstE, e)
			}
		}
		if got[n] != -1 || got[n+1] != -1 {
			t.Fatalf("n=%d: wrote past len(src)", n)
		}
		if e := math.Abs(gs-ws) / ws; e > 1e-6 {
			t.Fatalf("n=%d: sum %g, reference %g", n, gs, ws)
		} else {
			worstS = max(worstS, e)
		}
		// In place, as SoftmaxForward uses it.
		x := append([]float32(nil), src...)
		if s := expShiftSum(x, x, shift); math.Abs(s-gs) > 1e-12*gs {
			t.Fatalf("n=%d: in place sum %g, not in place %g", n, s, gs)
		}
	}
	t.Logf("max relative error: exponentials %.3g, sums %.3g", worstE, worstS)
}

// BenchmarkSoftmaxRows: SoftmaxForward on attention-like rows (512) and CrossEntropy (with its
// gradient) on a base-19m logits row (16384), reported per element.
func BenchmarkSoftmaxRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{512, 16384} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 3)
		}
		y := make([]float32, n)
		b.Run("softmax/"+itoa(n), func(b *testing.B) {
			for b.Loop() {
				copy(y, x)
				SoftmaxForward(y)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
		})
		b.Run("xent/"+itoa(n), func(b *testing.B) {
			for b.Loop() {
				CrossEntropy(y, x, 3, 1)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// TestSwiGLUVectorMatchesGo checks the vector SwiGLU loops (AVX2 where available) against the Go
// loops they replace, on odd lengths (vector prefix plus Go tail), wide inputs and the extremes
// where e^(−g) overflows or vanishes; the gradients are accumulated into non-zero dg, du.
func TestSwiGLUVectorMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 7, 8, 9, 63, 1001} {
		g, u, dh := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range g {
			g[i] = float32(rng.NormFloat64() * 6)
			u[i] = float32(rng.NormFloat64())
			dh[i] = float32(rng.NormFloat64())
		}
		for i, v := range []float32{-100, 100, 0, -88, 89, float32(math.Copysign(0, -1))} {
			if i < n {
				g[i] = v
			}
		}
		h, hg := make([]float32, n), make([]float32, n)
		SwiGLUForward(h, g, u, n)
		swigluFwdGo(hg, g, u)
		dg, du := make([]float32, n), make([]float32, n)
		for i := range dg {
			dg[i], du[i] = float32(i%5)-2, float32(i%3)-1
		}
		dgg, dug := slices.Clone(dg), slices.Clone(du)
		SwiGLUBackward(dg, du, dh, g, u, n)
		swigluBwdGo(dgg, dug, dh, g, u)
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"h", h, hg}, {"dg", dg, dgg}, {"du", du, dug}} {
			for i := range c.want {
				w, v := float64(c.want[i]), float64(c.got[i])
				if math.Abs(v-w) > 4e-7*math.Abs(w)+1e-30 || math.IsNaN(v) != math.IsNaN(w) {
					t.Fatalf("n=%d %s[%d] (g=%v): vector %v, Go %v", n, c.name, i, g[i], v, w)
				}
			}
		}
	}
}

// TestSoftmaxVectorPathsMatchScalar checks SoftmaxForward and SoftmaxBackward (vector prefix plus
// scalar tail) on every length from 1 to 70 against float64 loops, with dx aliasing dy.
func TestSoftmaxVectorPathsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for n := 1; n <= 70; n++ {
		x, dy := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], dy[i] = float32(rng.NormFloat64()*3), float32(rng.NormFloat64())
		}
		y := slices.Clone(x)
		SoftmaxForward(y)
		mx := math.Inf(-1)
		for _, v := range x {
			mx = math.Max(mx, float64(v))
		}
		var s, d float64
		for _, v := range x {
			s += math.Exp(float64(v) - mx)
		}
		for i, v := range y {
			w := math.Exp(float64(x[i])-mx) / s
			if math.Abs(float64(v)-w) > 1e-6*w+1e-12 {
				t.Fatalf("n=%d: softmax[%d] = %v, want %v", n, i, v, w)
			}
			d += float64(v) * float64(dy[i])
		}
		want := make([]float64, n)
		for i, v := range y {
			want[i] = float64(v) * (float64(dy[i]) - d)
		}
		SoftmaxBackward(dy, y, dy) // in place
		for i, w := range want {
			if math.Abs(float64(dy[i])-w) > 1e-6*(math.Abs(w)+float64(y[i])) {
				t.Fatalf("n=%d: dx[%d] = %v, want %v", n, i, dy[i], w)
			}
		}
	}
}
