package bench

import (
	"testing"
	"time"
)

// The peak MFU is measured against must come from the product the cases run (float32, or bf16
// compute): a bf16 step measured against the float32 peak reads above 100%.
func TestPeakTimesTheProductItIsGiven(t *testing.T) {
	const pause = 2 * time.Millisecond
	calls := map[[3]int]int{}
	slow := func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		calls[[3]int{m, n, k}]++
		time.Sleep(pause)
	}
	p := measurePeak(1, slow)
	for _, s := range peakShapes() {
		if calls[[3]int{s.M, s.N, s.K}] == 0 {
			t.Fatalf("peak shape %s was not timed with the given product", s.Name())
		}
	}
	// Every call took at least pause, so no shape can beat its flops ÷ pause; the best is a real shape's.
	var bound float64
	for _, s := range peakShapes() {
		if r := s.Flops() / pause.Seconds() / 1e9; r > bound {
			bound = r
		}
	}
	if p.GFLOPS <= 0 || p.GFLOPS > bound {
		t.Fatalf("peak %.1f GFLOP/s, want in (0, %.1f]: not the given product's rate", p.GFLOPS, bound)
	}
}
