package numtest

import (
	"math"
	"testing"
)

func TestComparisonsMeasureTheDifferenceAndPropagateNaN(t *testing.T) {
	a, b := []float32{1, -2, 3}, []float32{1, -2.5, 3}
	if d := MaxAbsDiff(a, b); d != 0.5 {
		t.Errorf("MaxAbsDiff = %v, want 0.5", d)
	}
	if d := MaxAbsDiff64(a, []float64{1, -2, 2}); d != 1 {
		t.Errorf("MaxAbsDiff64 = %v, want 1", d)
	}
	want := 0.5 / math.Sqrt(1+6.25+9)
	if r := RelL2(a, b); math.Abs(r-want) > F64 {
		t.Errorf("RelL2 = %v, want %v", r, want)
	}
	if r := RelL264(a, []float64{1, -2.5, 3}); math.Abs(r-want) > F64 {
		t.Errorf("RelL264 = %v, want %v", r, want)
	}
	nan := []float32{1, float32(math.NaN()), 3}
	if d := MaxAbsDiff(nan, b); !math.IsNaN(d) {
		t.Errorf("MaxAbsDiff with a NaN = %v, want NaN (which fails every ≤ check)", d)
	}
	if r := RelL2(nan, b); !math.IsNaN(r) {
		t.Errorf("RelL2 with a NaN = %v, want NaN", r)
	}
	if MaxAbs(b) != 3 {
		t.Errorf("MaxAbs = %v, want 3", MaxAbs(b))
	}
}

func TestSameBitsTellsApartEveryBitPattern(t *testing.T) {
	a := []float32{1, float32(math.NaN()), 0}
	if !SameBits(a, []float32{1, float32(math.NaN()), 0}) {
		t.Error("SameBits is false for the same bits (NaN included)")
	}
	negZero := float32(math.Copysign(0, -1))
	for _, b := range [][]float32{{1, float32(math.NaN()), negZero}, {math.Nextafter32(1, 2), float32(math.NaN()), 0}, {1, float32(math.NaN())}} {
		if SameBits(a, b) {
			t.Errorf("SameBits(%v, %v) is true", a, b)
		}
	}
}
