package kernels

import (
	"math"
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
