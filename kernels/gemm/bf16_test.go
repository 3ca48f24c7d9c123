package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestBF16BIsBitIdenticalToWidenedFloat32 checks the claim frozen bf16 base weights rest on: a
// product with a bfloat16 B gives exactly the bits of the same product with B widened to float32
// beforehand — on the small-m path (m ≤ 4), the skinny paths (n or m ≤ 64, where a float32 B is
// read in place but a bf16 one is packed) and the blocked path, every form, every kernel, one and
// three goroutines, and SgemmSum with a bf16 first term.
func TestBF16BIsBitIdenticalToWidenedFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
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
			cfg.minParallelFlops = 0
			configs = append(configs, named{fmt.Sprintf("%s/t%d", nk.name, threads), cfg})
		}
	}
	shapes := [][3]int{{1, 33, 70}, {3, 100, 17}, {4, 64, 384}, {5, 40, 50}, {17, 130, 97}, {64, 48, 200}, {65, 200, 129}, {150, 70, 400}}
	for _, s := range shapes {
		for form := 0; form < 4; form++ {
			m, n, k := s[0], s[1], s[2]
			transA, transB := form&1 != 0, form&2 != 0
			ar, ac, br, bc := m, k, k, n
			if transA {
				ar, ac = k, m
			}
			if transB {
				br, bc = n, k
			}
			A, B := newOperand(rng, ar, ac), newOperand(rng, br, bc)
			c0 := make([]float32, m*n)
			for i := range c0 {
				c0[i] = float32(rng.NormFloat64())
			}
			for _, tc := range configs {
				cfg := tc.cfg
				for _, beta := range []float32{0, 1} {
					want := append([]float32(nil), c0...)
					got := append([]float32(nil), c0...)
					blocked(&cfg, transA, transB, m, n, k, 0.5, A.f, A.ld, B.f, nil, B.ld, beta, want, n)
					blocked(&cfg, transA, transB, m, n, k, 0.5, A.f, A.ld, nil, B.h, B.ld, beta, got, n)
					if i := firstDiff(want, got); i >= 0 {
						t.Fatalf("%s m=%d n=%d k=%d form=%d beta=%v: C[%d] = %v with bf16 B, %v with widened B", tc.name, m, n, k, form, beta, i, got[i], want[i])
					}
				}
				// SgemmSum's fused path with a rank-4 second term.
				z, v := newOperand(rng, m, 4), newOperand(rng, n, 4)
				t2 := Term{TransB: true, K: 4, Alpha: 0.25, A: z.f, Lda: z.ld, B: v.f, Ldb: v.ld}
				want := append([]float32(nil), c0...)
				got := append([]float32(nil), c0...)
				blockedSum(&cfg, transA, transB, m, n, k, 1, A.f, A.ld, B.f, nil, B.ld, 0, want, n, &t2)
				blockedSum(&cfg, transA, transB, m, n, k, 1, A.f, A.ld, nil, B.h, B.ld, 0, got, n, &t2)
				if i := firstDiff(want, got); i >= 0 {
					t.Fatalf("%s sum m=%d n=%d k=%d form=%d: C[%d] = %v with bf16 B, %v with widened B", tc.name, m, n, k, form, i, got[i], want[i])
				}
			}
		}
	}
}

// firstDiff is the first index where x and y differ in bits, or -1.
func firstDiff(x, y []float32) int {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i
		}
	}
	return -1
}

// TestWidenMatchesTheScalarLoop checks the assembly widening (widen8) against BF16ToFloat32 on
// every length 0…40 (whole blocks of 8 and tails), every bit pattern class included (NaN, ±Inf,
// subnormals, ±0).
func TestWidenMatchesTheScalarLoop(t *testing.T) {
	if widen8 == nil {
		t.Skip("no assembly widening on this platform (the scalar loop is the reference itself)")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 40; n++ {
		src := make([]uint16, n)
		for i := range src {
			src[i] = uint16(rng.Uint32())
		}
		specials := []uint16{0x7fc0, 0x7f80, 0xff80, 0x0001, 0x8000, 0x0000}
		for i := 0; i < n && i < len(specials); i++ {
			src[n-1-i] = specials[i]
		}
		got := make([]float32, n+1)
		got[n] = 42 // must stay
		widen(got[:n], src)
		for i, h := range src {
			if math.Float32bits(got[i]) != uint32(h)<<16 {
				t.Fatalf("n=%d: widen[%d] of %#04x = %#08x", n, i, h, math.Float32bits(got[i]))
			}
		}
		if got[n] != 42 {
			t.Fatalf("n=%d: widen wrote past its end", n)
		}
	}
}
