package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSmallMatchesNaive checks the small-m path (no packing) against Naive: every form, m = 1..5
// around the threshold, odd n and k (tails of the 16-wide dots and 32-wide strips), each kernel's
// dot4/axpy32, one goroutine and three (forced), with NaN padding and unchanged inputs.
func TestSmallMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type named struct {
		name string
		cfg  config
	}
	var configs []named
	for _, nk := range kernels {
		for _, threads := range []int{1, 3} {
			cfg := defaultConfig
			useKernel(&cfg, nk)
			cfg.threads = threads
			configs = append(configs, named{fmt.Sprintf("%s/t%d", nk.name, threads), cfg})
		}
	}
	sizes := [][2]int{{1, 1}, {3, 15}, {4, 16}, {5, 17}, {31, 33}, {32, 64}, {33, 31}, {97, 130}, {130, 97}, {67, 384}}
	for range 6 {
		sizes = append(sizes, [2]int{1 + rng.IntN(300), 1 + rng.IntN(300)})
	}
	worst := map[string]float64{}
	for si, s := range sizes {
		for m := 1; m <= smallM+1; m++ {
			for form := 0; form < 4; form++ {
				sc := scalars[(si+m+form)%len(scalars)]
				gc := gemmCase{transA: form&1 != 0, transB: form&2 != 0, m: m, n: s[0], k: s[1], alpha: sc.alpha, beta: sc.beta}
				p := prepare(rng, gc)
				for _, tc := range configs {
					cfg := tc.cfg
					worst[tc.name] = max(worst[tc.name], p.verify(t, tc.name, func(a []float32, lda int, b Weights, ldb int, c []float32, ldc int) {
						blocked(&cfg, gc.transA, gc.transB, gc.m, gc.n, gc.k, gc.alpha, a, lda, b, ldb, gc.beta, c, ldc)
					}))
				}
			}
		}
	}
	for _, tc := range configs {
		t.Logf("%s: worst error / bound = %.3g", tc.name, worst[tc.name])
	}
}

// TestSmallKernelsAgree compares each kernel's dot4 and axpy32 with the portable ones on odd k.
func TestSmallKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, nk := range kernels {
		for _, k := range []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 100} {
			ld := k + 5
			x := make([]float32, k+1)
			w := make([]float32, 4*ld+40)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for i := range w {
				w[i] = float32(rng.NormFloat64())
			}
			var got, want [4]float32
			for _, ldw := range []int{ld, 0} {
				dot4Go(k, x, w, ldw, &want)
				nk.dot4(k, x, w, ldw, &got)
				for r := range got {
					if d := math.Abs(float64(got[r] - want[r])); d > 1e-5*float64(k+1) {
						t.Fatalf("%s dot4 k=%d ldw=%d: out[%d] = %g, go %g", nk.name, k, ldw, r, got[r], want[r])
					}
				}
			}
			if k == 0 {
				continue
			}
			ldb := 37
			b := make([]float32, (k-1)*ldb+32)
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			cg, cw := make([]float32, 32), make([]float32, 32)
			axpy32Go(k, x, 1, b, ldb, cw)
			nk.axpy32(k, x, 1, b, ldb, cg)
			for j := range cg {
				if d := math.Abs(float64(cg[j] - cw[j])); d > 1e-5*float64(k+1) {
					t.Fatalf("%s axpy32 k=%d: c[%d] = %g, go %g", nk.name, k, j, cg[j], cw[j])
				}
			}
		}
	}
}

// TestSmallReusesBuffers: a decoding-step product (m = 1, LM-head sized, parallel) allocates
// nothing in the steady state.
func TestSmallReusesBuffers(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	const m, n, k = 1, 4096, 384
	a, b, c := make([]float32, k*m), make([]float32, n*k), make([]float32, m*n)
	for _, transA := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			lda, ldb := k, n
			if transA {
				lda = m
			}
			if transB {
				ldb = k
			}
			f := func() { Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n) }
			f()
			if allocs := testing.AllocsPerRun(20, f); allocs > 0 {
				t.Errorf("transA=%v transB=%v: allocates %v times per call", transA, transB, allocs)
			}
		}
	}
}

// TestPackAMatchesScalar checks packA with the assembly 6-row packer (where there is one) against
// packA with the scalar loop only, on odd row counts and k, both layouts, in a NaN-filled buffer.
func TestPackAMatchesScalar(t *testing.T) {
	if packA6 == nil {
		t.Skip("no assembly packA6 on this CPU/build")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range [][2]int{{6, 9}, {6, 16}, {6, 17}, {12, 33}, {13, 100}, {25, 384}, {5, 40}} {
		mc, kc := s[0], s[1]
		for _, transA := range []bool{false, true} {
			rows, cols := 3+mc, 2+kc // op(A) inside a larger matrix, offset (3, 2) / (2, 3)
			if transA {
				rows, cols = cols, rows
			}
			lda := cols + 1
			a := make([]float32, rows*lda)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			n := (mc + MR - 1) / MR * MR * kc
			got, want := make([]float32, n+5), make([]float32, n+5)
			for i := range got {
				got[i], want[i] = float32(math.NaN()), float32(math.NaN())
			}
			packA(got, a, lda, transA, 3, mc, 2, kc)
			saved := packA6
			packA6 = nil
			packA(want, a, lda, transA, 3, mc, 2, kc)
			packA6 = saved
			if !sameBits(got, want) {
				t.Fatalf("mc=%d kc=%d transA=%v: packed panels differ from the scalar packing", mc, kc, transA)
			}
		}
	}
}

// TestPackBMatchesScalar checks packB of a transposed float32 B with the assembly 8×8 transposes
// (where there are) against the scalar loop, on odd k and partial panels, in a NaN-filled buffer.
func TestPackBMatchesScalar(t *testing.T) {
	if transpose8 == nil {
		t.Skip("no assembly transpose8 on this CPU/build")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for _, k := range []int{1, 7, 8, 9, 16, 31, 100, 384} {
		for _, cols := range []int{NR, 5} {
			ldb := k + 3
			b := make([]float32, (2+NR)*ldb)
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			got, want := make([]float32, k*NR+4), make([]float32, k*NR+4)
			for i := range got {
				got[i], want[i] = float32(math.NaN()), float32(math.NaN())
			}
			packB(got, Weights{F32: b}, ldb, true, 2, cols, k, nil)
			saved := transpose8
			transpose8 = nil
			packB(want, Weights{F32: b}, ldb, true, 2, cols, k, nil)
			transpose8 = saved
			if !sameBits(got, want) {
				t.Fatalf("k=%d cols=%d: packed panel differs from the scalar packing", k, cols)
			}
		}
	}
}
