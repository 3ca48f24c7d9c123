package bench

import (
	"math/rand/v2"
	"sort"
	"time"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/kernels/gemm/openblas"
)

// sgemmFunc is gemm.Sgemm's signature (also openblas.Sgemm's).
type sgemmFunc = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// gemmTiming is the wall time of repeated calls of one product.
type gemmTiming struct {
	Best, Median time.Duration // wall time per call
	CPU          float64       // CPU seconds (all threads) of all timed calls
	Reps         int
}

// GFLOPS is the rate of the best call: the machine's capability when another process did not
// take the cores away during at least one call.
func (t gemmTiming) GFLOPS(s gemm.Shape) float64 { return s.Flops() / t.Best.Seconds() / 1e9 }

// CPUGFLOPS is GFLOP per CPU-second over all timed calls (0 if CPU time is unknown): the rate
// of the work itself, whatever share of the cores other processes took.
func (t gemmTiming) CPUGFLOPS(s gemm.Shape) float64 {
	if t.CPU <= 0 {
		return 0
	}
	return s.Flops() * float64(t.Reps) / t.CPU / 1e9
}

// gemmOperands are random operands of a shape, laid out densely for its form.
type gemmOperands struct {
	a, b, c       []float32 // a: (M, K) or (K, M); b: (K, N) or (N, K); c: (M, N)
	lda, ldb, ldc int
}

func newOperands(s gemm.Shape) *gemmOperands {
	rng := rand.New(rand.NewPCG(7, 8))
	o := &gemmOperands{a: make([]float32, s.M*s.K), b: make([]float32, s.K*s.N), c: make([]float32, s.M*s.N),
		lda: s.K, ldb: s.N, ldc: s.N}
	for i := range o.a {
		o.a[i] = rng.Float32() - 0.5
	}
	for i := range o.b {
		o.b[i] = rng.Float32() - 0.5
	}
	if s.TransA {
		o.lda = s.M
	}
	if s.TransB {
		o.ldb = s.K
	}
	return o
}

// timeGemm runs f on s once to warm up (thread pools, page faults), then times calls until at least
// minReps calls and minTime have passed.
func timeGemm(s gemm.Shape, o *gemmOperands, f sgemmFunc, minReps int, minTime time.Duration) gemmTiming {
	call := func() {
		f(s.TransA, s.TransB, s.M, s.N, s.K, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
	}
	call()
	var ts []time.Duration
	start, cpu0 := time.Now(), cpuSeconds()
	for len(ts) < minReps || time.Since(start) < minTime {
		t0 := time.Now()
		call()
		ts = append(ts, time.Since(t0))
	}
	cpu := cpuSeconds() - cpu0
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return gemmTiming{Best: ts[0], Median: ts[len(ts)/2], CPU: cpu, Reps: len(ts)}
}

// gemmReps is the number of timed calls of a shape: at least 3 and 0.3 s, one call fewer for the
// vocabulary product (about 2 s a call on two cores).
func gemmReps(s gemm.Shape) (int, time.Duration) {
	if s.Huge {
		return 2, 0
	}
	return 3, 300 * time.Millisecond
}

// peakShapes are the large (non-skinny, non-vocabulary) products whose best rate is the machine
// peak when OpenBLAS is not linked.
func peakShapes() []gemm.Shape {
	var out []gemm.Shape
	for _, s := range gemm.BenchShapes {
		if !s.Skinny && !s.Huge {
			out = append(out, s)
		}
	}
	return out
}

// Peak is the machine peak MFU is measured against, in GFLOP/s.
type Peak struct {
	GFLOPS    float64 // best wall-clock rate of one call, all threads
	CPUGFLOPS float64 // best GFLOP per CPU-second (over the same shapes; 0 if unknown)
	Source    string  // "openblas" or "ours"
	Shape     string  // the product that reached GFLOPS
}

// measurePeak times every large shape with product (gemm.Sgemm, or the bf16-compute product
// under --compute bf16) and, when it is linked, OpenBLAS (all threads; float32 only), and returns
// the better of the two best rates.
func measurePeak(threads int, product sgemmFunc) Peak {
	ours, theirs := map[string]gemmTiming{}, map[string]gemmTiming{}
	for _, s := range peakShapes() {
		reps, dur := gemmReps(s)
		o := newOperands(s)
		ours[s.Name()] = timeGemm(s, o, product, reps, dur)
		if openblas.Available {
			openblas.SetThreads(threads)
			theirs[s.Name()] = timeGemm(s, o, openblas.Sgemm, reps, dur)
		}
	}
	return betterPeak(peakFrom(ours, "ours"), peakFrom(theirs, "openblas"))
}
