package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
)

// TestRowwiseMatchesNaive checks SgemmRowwise against Naive on odd shapes with every scalar pair,
// with NaN padding and unchanged inputs (prepare/verify).
func TestRowwiseMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	i := 0
	for _, m := range []int{1, 2, 5, 7, 33} {
		for _, nk := range [][2]int{{1, 1}, {3, 15}, {17, 67}, {130, 97}, {385, 64}} {
			sc := scalars[i%len(scalars)]
			i++
			tc := gemmCase{transB: true, m: m, n: nk[0], k: nk[1], alpha: sc.alpha, beta: sc.beta}
			check(t, rng, fmt.Sprintf("rowwise %dx%dx%d", m, nk[0], nk[1]), tc, func(a []float32, lda int, b Weights, ldb int, c []float32, ldc int) {
				SgemmRowwise(tc.m, tc.n, tc.k, tc.alpha, a, lda, b.F32, ldb, tc.beta, c, ldc)
			})
		}
	}
}

// TestRowwiseRowDoesNotDependOnTheBatch is the batch-invariance claim: a row of C has the same
// bits whether it is computed alone (SgemmRowwise and Sgemm with m = 1), inside a product of m rows
// with other random rows around it, or by Sgemm over at most RowwiseM rows.
func TestRowwiseRowDoesNotDependOnTheBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	fill := func(v []float32) {
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	}
	for _, s := range [][2]int{{53, 67}, {384, 384}, {1024, 384}, {16384, 96}} {
		n, k := s[0], s[1]
		b := make([]float32, n*k)
		fill(b)
		x := make([]float32, k) // the row under test
		fill(x)
		alone := make([]float32, n)
		Sgemm(false, true, 1, n, k, 1, x, k, b, k, 0, alone, n)
		one := make([]float32, n)
		SgemmRowwise(1, n, k, 1, x, k, b, k, 0, one, n)
		if !numtest.SameBits(one, alone) {
			t.Fatalf("n=%d k=%d: SgemmRowwise with m = 1 differs from Sgemm with m = 1", n, k)
		}
		for _, m := range []int{2, RowwiseM, RowwiseM + 1, 32, 61} {
			for _, at := range []int{0, m / 2, m - 1} {
				a := make([]float32, m*k)
				fill(a)
				copy(a[at*k:], x)
				c := make([]float32, m*n)
				SgemmRowwise(m, n, k, 1, a, k, b, k, 0, c, n)
				if !numtest.SameBits(c[at*n:(at+1)*n], alone) {
					t.Fatalf("n=%d k=%d: row %d of a %d-row SgemmRowwise differs from the row alone", n, k, at, m)
				}
				if m <= RowwiseM {
					clear(c)
					Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
					if !numtest.SameBits(c[at*n:(at+1)*n], alone) {
						t.Fatalf("n=%d k=%d: row %d of a %d-row Sgemm (≤ RowwiseM rows) differs from the row alone", n, k, at, m)
					}
				}
			}
		}
	}
}

// BenchmarkRowwise compares SgemmRowwise with Sgemm on the shapes of a 32-sequence decode step of
// base-19m (an MLP projection, the LM head) and of one sequence.
func BenchmarkRowwise(b *testing.B) {
	for _, s := range [][3]int{{32, 1024, 384}, {32, 16384, 384}, {1, 1024, 384}} {
		m, n, k := s[0], s[1], s[2]
		a, w, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
		for i := range a {
			a[i] = float32(i%7) - 3
		}
		for i := range w {
			w[i] = float32(i%5) - 2
		}
		for _, f := range []struct {
			name string
			run  func()
		}{
			{"rowwise", func() { SgemmRowwise(m, n, k, 1, a, k, w, k, 0, c, n) }},
			{"sgemm", func() { Sgemm(false, true, m, n, k, 1, a, k, w, k, 0, c, n) }},
		} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", f.name, m, n, k), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					f.run()
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
