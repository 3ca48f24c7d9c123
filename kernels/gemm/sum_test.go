package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmSumMatchesNaive checks the two-product driver (blockedSum) on every test
// configuration against two Naive products, the second one adding into C: all sixteen
// combinations of the two products' forms, k blocks of the first product ending mid-block,
// K2 from 0 to beyond a tiny KC, alphas that are zero, negative or unequal, betas 0, 1 and
// other, the small-m fallback, and C padding that must stay NaN.
func TestSgemmSumMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	// term draws a product of the given form with its operands stored with padded strides.
	term := func(m, n, k int, transA, transB bool, alpha float32) Term {
		ar, ac, br, bc := m, k, k, n
		if transA {
			ar, ac = k, m
		}
		if transB {
			br, bc = n, k
		}
		lda, ldb := ac+2, bc+1
		return Term{TransA: transA, TransB: transB, K: k, Alpha: alpha,
			A: rnd(max(ar*lda, 1)), Lda: max(lda, 1), B: Weights{F32: rnd(max(br*ldb, 1))}, Ldb: max(ldb, 1)}
	}
	sizes := [][4]int{{1, 5, 7, 3}, {3, 17, 9, 16}, {5, 16, 30, 1}, {7, 33, 17, 16}, {13, 20, 40, 7}, {40, 50, 25, 17}, {70, 20, 100, 16}, {97, 40, 9, 0}, {25, 47, 0, 5}}
	alphas := [][2]float32{{1, 2}, {1, 1}, {-0.75, 0.5}, {0, 1.5}, {1.25, 0}}
	betas := []float32{0, 1, -0.5}
	configs := testConfigs()
	for si, sz := range sizes {
		m, n, k1, k2 := sz[0], sz[1], sz[2], sz[3]
		for form := 0; form < 16; form++ {
			al := alphas[(si+form)%len(alphas)]
			beta := betas[(si+form)%len(betas)]
			t1 := term(m, n, k1, form&1 != 0, form&2 != 0, al[0])
			t2 := term(m, n, k2, form&4 != 0, form&8 != 0, al[1])
			ldc := n + 3
			c0 := make([]float32, m*ldc)
			for i := range c0 {
				c0[i] = float32(math.NaN())
				if i%ldc < n {
					c0[i] = rng.Float32()*2 - 1
				}
			}
			want := append([]float32(nil), c0...)
			Naive(t1.TransA, t1.TransB, m, n, t1.K, t1.Alpha, t1.A, t1.Lda, t1.B.F32, t1.Ldb, beta, want, ldc)
			Naive(t2.TransA, t2.TransB, m, n, t2.K, t2.Alpha, t2.A, t2.Lda, t2.B.F32, t2.Ldb, 1, want, ldc)
			// Error bound: float32 rounding of sums of |terms| over k1 + k2 + 2 steps.
			bound := func(i, j int) float64 {
				s := math.Abs(float64(beta * c0[i*ldc+j]))
				for _, tm := range []Term{t1, t2} {
					for p := 0; p < tm.K; p++ {
						var av, bv float32
						if tm.TransA {
							av = tm.A[p*tm.Lda+i]
						} else {
							av = tm.A[i*tm.Lda+p]
						}
						if tm.TransB {
							bv = tm.B.F32[j*tm.Ldb+p]
						} else {
							bv = tm.B.F32[p*tm.Ldb+j]
						}
						s += math.Abs(float64(tm.Alpha * av * bv))
					}
				}
				return 4 * float64(k1+k2+2) * 0x1p-24 * s
			}
			check := func(name string, got []float32) {
				t.Helper()
				for i := 0; i < m; i++ {
					for j := 0; j < ldc; j++ {
						g, w := got[i*ldc+j], want[i*ldc+j]
						if j >= n {
							if !math.IsNaN(float64(g)) {
								t.Fatalf("%s: padding C[%d,%d] written: %v", name, i, j, g)
							}
							continue
						}
						if e := math.Abs(float64(g - w)); !(e <= bound(i, j)) {
							t.Fatalf("%s: C[%d,%d] = %v, want %v (|err| %.3g > bound %.3g)", name, i, j, g, w, e, bound(i, j))
						}
					}
				}
			}
			label := fmt.Sprintf("m%d n%d k%d+%d form%04b alpha%v beta%v", m, n, k1, k2, form, al, beta)
			for _, tc := range configs {
				cfg := tc.cfg
				got := append([]float32(nil), c0...)
				blockedSum(&cfg, t1.TransA, t1.TransB, m, n, t1.K, t1.Alpha, t1.A, t1.Lda, t1.B, t1.Ldb, beta, got, ldc, &t2)
				check(tc.name+" "+label, got)
			}
			got := append([]float32(nil), c0...)
			SgemmSum(m, n, t1, t2, beta, got, ldc)
			check("SgemmSum "+label, got)
		}
	}
}
