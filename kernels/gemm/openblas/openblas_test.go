package openblas

import (
	"flag"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/moslora/moslora/kernels/gemm"
)

// Run with: go test -tags openblas ./kernels/gemm/openblas -run '^$' -bench . -cpu 1,2

// TestMatchesNaive checks the binding (argument order, row-major flags) on one odd case per form.
func TestMatchesNaive(t *testing.T) {
	if !Available {
		t.Skip("OpenBLAS not linked: build with -tags openblas")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	m, n, k := 13, 21, 17
	worst := 0.0
	for form := 0; form < 4; form++ {
		ta, tb := form&1 != 0, form&2 != 0
		a, b := make([]float32, m*k), make([]float32, k*n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		lda, ldb := k, n
		if ta {
			lda = m
		}
		if tb {
			ldb = k
		}
		want, got := make([]float32, m*n), make([]float32, m*n)
		for i := range want {
			want[i] = float32(rng.NormFloat64())
			got[i] = want[i]
		}
		gemm.Naive(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, n)
		Sgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, got, n)
		for i := range got {
			d := math.Abs(float64(got[i] - want[i]))
			if d > 1e-4 {
				t.Fatalf("form %d: element %d = %g, naive %g", form, i, got[i], want[i])
			}
			worst = max(worst, d)
		}
	}
	t.Logf("max abs error vs naive: %.3g", worst)
}

// kernelFlag picks gemm's micro-kernel for BenchmarkCompare, e.g. -gemm.kernel=avx2 to compare
// like with like (OpenBLAS 0.3.21 uses its AVX2 "Haswell" kernels on this CPU).
var kernelFlag = flag.String("gemm.kernel", "", "gemm micro-kernel (default: fastest)")

type sgemmFunc = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

func bench(b *testing.B, s gemm.Shape, f sgemmFunc) {
	if s.Huge && testing.Short() {
		b.Skip("vocabulary shape skipped in -short mode")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	a, bb, c := make([]float32, s.M*s.K), make([]float32, s.K*s.N), make([]float32, s.M*s.N)
	for i := range a {
		a[i] = rng.Float32() - 0.5
	}
	for i := range bb {
		bb[i] = rng.Float32() - 0.5
	}
	for i := range c {
		c[i] = 1 // fault the pages in before timing
	}
	lda, ldb := s.K, s.N
	if s.TransA {
		lda = s.M
	}
	if s.TransB {
		ldb = s.K
	}
	f(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, bb, ldb, 0, c, s.N) // warm up (thread pools)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		f(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, bb, ldb, 0, c, s.N)
	}
	b.ReportMetric(s.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(s.Flops()*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkCompare times gemm.Sgemm and OpenBLAS on the same shapes, one after the other, with
// GOMAXPROCS goroutines and as many OpenBLAS threads (set -cpu 1,2).
func BenchmarkCompare(b *testing.B) {
	if !Available {
		b.Skip("OpenBLAS not linked: build with -tags openblas")
	}
	SetThreads(runtime.GOMAXPROCS(0))
	if *kernelFlag != "" {
		if err := gemm.SetKernel(*kernelFlag); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("gemm micro-kernel %s, %d threads", gemm.KernelName(), runtime.GOMAXPROCS(0))
	for _, s := range gemm.BenchShapes {
		b.Run(s.Name()+"/ours", func(b *testing.B) { bench(b, s, gemm.Sgemm) })
		b.Run(s.Name()+"/openblas", func(b *testing.B) { bench(b, s, Sgemm) })
	}
}
