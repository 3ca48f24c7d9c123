package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/moslora/moslora/safetensors"
)

// storedB is a B operand held in one storage (Weights) and the float32 values it stands for,
// decoded element by element by the references (BF16ToFloat32, safetensors.F16ToFloat32,
// f16(scale)·q), not by Weights.Decode.
type storedB struct {
	w Weights
	f []float32
}

var storages = []form{formBF16, formF16, formQ8}

func (f form) String() string { return [...]string{"f32", "bf16", "f16", "q8"}[f] }

// newStoredB draws size elements held as f: normal values (f16: some of them f16 subnormals;
// Q8: quants over all of int8 and scales over f16's normal and subnormal range).
func newStoredB(rng *rand.Rand, f form, size int) storedB {
	s := storedB{f: make([]float32, size)}
	switch f {
	case formBF16:
		h := make([]uint16, size)
		for i := range h {
			h[i] = uint16(math.Float32bits(float32(rng.NormFloat64())) >> 16)
			s.f[i] = BF16ToFloat32(h[i])
		}
		s.w.BF16 = h
	case formF16:
		h := make([]uint16, size)
		for i := range h {
			v := rng.NormFloat64()
			if i%7 == 0 {
				v *= 1e-6 // an f16 subnormal
			}
			h[i] = safetensors.Float32ToF16(float32(v))
			s.f[i] = safetensors.F16ToFloat32(h[i])
		}
		s.w.F16 = h
	case formQ8:
		q := Q8{Q: make([]int8, size), D: make([]uint16, (size+Q8Block-1)/Q8Block)}
		for b := range q.D {
			d := rng.Float64() * 0.05
			if b%5 == 0 {
				d *= 1e-4 // a subnormal f16 scale
			}
			q.D[b] = safetensors.Float32ToF16(float32(d))
		}
		for i := range q.Q {
			q.Q[i] = int8(rng.IntN(256) - 128)
			s.f[i] = safetensors.F16ToFloat32(q.D[i/Q8Block]) * float32(q.Q[i])
		}
		s.w.Q8 = q
	default:
		panic("newStoredB: a storage other than float32")
	}
	return s
}

// newStoredCase draws op(A) (m, k) and a B held as st for op(B) (k, n) in the layouts transA and
// transB select, B's rows padded to ldb (for Q8 a multiple of 32, as the model holds them).
func newStoredCase(rng *rand.Rand, st form, m, n, k int, transA, transB bool) (A operand, B storedB, ldb int) {
	ar, ac, br, bc := m, k, k, n
	if transA {
		ar, ac = k, m
	}
	if transB {
		br, bc = n, k
	}
	ldb = bc + 3
	if st == formQ8 {
		ldb = (bc + 31) / 32 * 32
	}
	return newOperand(rng, ar, ac), newStoredB(rng, st, br*ldb), ldb
}

// weightConfigs are the driver configurations of the storage tests: each micro-kernel, tiny blocks
// (KC = 8, one panel per column block, k cut into slices that start inside Q8 blocks) and the
// default ones, one goroutine and three (forced even for small products).
func weightConfigs() []struct {
	name string
	cfg  config
} {
	var out []struct {
		name string
		cfg  config
	}
	for _, nk := range kernels {
		for _, tiny := range []bool{true, false} {
			for _, threads := range []int{1, 3} {
				cfg := defaultConfig
				useKernel(&cfg, nk)
				cfg.threads, cfg.minParallelFlops = threads, 0
				name := fmt.Sprintf("%s/default/t%d", nk.name, threads)
				if tiny {
					cfg.kc, cfg.mc, cfg.ncBytes, cfg.kBytes = 8, 12, 1, 1
					name = fmt.Sprintf("%s/tiny/t%d", nk.name, threads)
				}
				out = append(out, struct {
					name string
					cfg  config
				}{name, cfg})
			}
		}
	}
	return out
}

// TestWeightsGiveTheBitsOfTheirFloat32Values checks the claim a frozen base held in 16 or 8 bits
// rests on: a product with B held in bf16, f16 or Q8 gives exactly the bits of the same product
// with B's float32 values — every form (NN, NT, TN, TT), the small-m path (m ≤ 4, m = 1 a
// decoding step, NN tails past the 32-column strips), the skinny paths (where a float32 B is read
// in place and a stored one is packed), the blocked path with tails of MR, NR, KC and of the
// decoded runs, k cut into slices, each micro-kernel, one and three goroutines, beta 0 and 1,
// and SgemmSum with a stored first term. Q8 rows are a multiple of 32 wide (as the model keeps
// them); the used columns are not.
func TestWeightsGiveTheBitsOfTheirFloat32Values(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	configs := weightConfigs()
	shapes := [][3]int{{1, 33, 70}, {1, 70, 64}, {3, 100, 17}, {4, 64, 384}, {5, 40, 50}, {17, 130, 97}, {64, 48, 200}, {65, 200, 129}, {150, 70, 400}}
	for _, st := range storages {
		for _, s := range shapes {
			for fm := 0; fm < 4; fm++ {
				m, n, k := s[0], s[1], s[2]
				transA, transB := fm&1 != 0, fm&2 != 0
				A, B, ldb := newStoredCase(rng, st, m, n, k, transA, transB)
				c0 := make([]float32, m*n)
				for i := range c0 {
					c0[i] = float32(rng.NormFloat64())
				}
				z, v := newOperand(rng, m, 4), newOperand(rng, n, 4)
				t2 := Term{TransB: true, K: 4, Alpha: 0.25, A: z.f, Lda: z.ld, B: Weights{F32: v.f}, Ldb: v.ld}
				for _, tc := range configs {
					cfg := tc.cfg
					for _, beta := range []float32{0, 1} {
						want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
						blocked(&cfg, transA, transB, m, n, k, 0.5, A.f, A.ld, Weights{F32: B.f}, ldb, beta, want, n)
						blocked(&cfg, transA, transB, m, n, k, 0.5, A.f, A.ld, B.w, ldb, beta, got, n)
						if i := firstDiff(want, got); i >= 0 {
							t.Fatalf("%s %s m=%d n=%d k=%d transA=%v transB=%v beta=%v: C[%d] = %v held %s, %v in float32", st, tc.name, m, n, k, transA, transB, beta, i, got[i], st, want[i])
						}
					}
					want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
					blockedSum(&cfg, transA, transB, m, n, k, 1, A.f, A.ld, Weights{F32: B.f}, ldb, 0, want, n, &t2)
					blockedSum(&cfg, transA, transB, m, n, k, 1, A.f, A.ld, B.w, ldb, 0, got, n, &t2)
					if i := firstDiff(want, got); i >= 0 {
						t.Fatalf("%s %s sum m=%d n=%d k=%d transA=%v transB=%v: C[%d] = %v held %s, %v in float32", st, tc.name, m, n, k, transA, transB, i, got[i], st, want[i])
					}
				}
				// The public entry points, default configuration.
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				Sgemm(transA, transB, m, n, k, 1, A.f, A.ld, B.f, ldb, 1, want, n)
				SgemmW(transA, transB, m, n, k, 1, A.f, A.ld, B.w, ldb, 1, got, n)
				if i := firstDiff(want, got); i >= 0 {
					t.Fatalf("%s SgemmW m=%d n=%d k=%d transA=%v transB=%v: C[%d] = %v, Sgemm %v", st, m, n, k, transA, transB, i, got[i], want[i])
				}
			}
		}
	}
}

// TestRowwiseWGivesTheBitsOfItsFloat32Values is the same claim for the row-wise products of the
// Batcher (SgemmRowwiseW against SgemmRowwise), one and many rows, one and three goroutines.
func TestRowwiseWGivesTheBitsOfItsFloat32Values(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, st := range storages {
		for _, nk := range [][2]int{{33, 64}, {130, 96}, {385, 384}} {
			n, k := nk[0], nk[1]
			B := newStoredB(rng, st, n*k)
			for _, m := range []int{1, 2, 5, 33} {
				a := newOperand(rng, m, k)
				want, got := make([]float32, m*n), make([]float32, m*n)
				SgemmRowwise(m, n, k, 1, a.f, a.ld, B.f, k, 0, want, n)
				SgemmRowwiseW(m, n, k, 1, a.f, a.ld, B.w, k, 0, got, n)
				if i := firstDiff(want, got); i >= 0 {
					t.Fatalf("%s n=%d k=%d m=%d: C[%d] = %v held %s, %v in float32", st, n, k, m, i, got[i], st, want[i])
				}
			}
		}
	}
}

// TestBF16ComputeRoundsStoredWeightsAsFloat32Ones checks that with bf16 compute a B held in f16 or
// Q8 is rounded to bfloat16 from its float32 value, as a float32 B is: the same bits as
// SgemmBF16Compute on those values, every form, tiny and default blocks, one and three goroutines.
func TestBF16ComputeRoundsStoredWeightsAsFloat32Ones(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, st := range []form{formF16, formQ8} {
		for _, s := range [][3]int{{1, 33, 64}, {7, 15, 96}, {25, 47, 31}, {65, 200, 129}} {
			for fm := 0; fm < 4; fm++ {
				m, n, k := s[0], s[1], s[2]
				transA, transB := fm&1 != 0, fm&2 != 0
				A, B, ldb := newStoredCase(rng, st, m, n, k, transA, transB)
				for _, tc := range bf16Configs(defaultConfig.bf16) {
					want, got := make([]float32, m*n), make([]float32, m*n)
					blockedAll(&tc.cfg, true, transA, transB, m, n, k, 1, A.f, A.ld, Weights{F32: B.f}, ldb, 0, want, n, nil)
					blockedAll(&tc.cfg, true, transA, transB, m, n, k, 1, A.f, A.ld, B.w, ldb, 0, got, n, nil)
					if i := firstDiff(want, got); i >= 0 {
						t.Fatalf("%s %s m=%d n=%d k=%d transA=%v transB=%v: C[%d] = %v held %s, %v in float32", st, tc.name, m, n, k, transA, transB, i, got[i], st, want[i])
					}
				}
			}
		}
	}
}

// TestWidenF16IsExactOnEveryBitPattern checks widenF16 (VCVTPH2PS where the CPU has F16C) against
// safetensors.F16ToFloat32 on all 65536 half bit patterns — zeros, subnormals, normals, ±Inf and
// NaNs, a signalling NaN made quiet as the instruction makes it (and as the products' first
// operation would) — in runs of every alignment, and the portable loop alone as well.
func TestWidenF16IsExactOnEveryBitPattern(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	check := func(name string) {
		for _, start := range []int{0, 3} { // 3: the assembly's runs start off the 16-byte grid
			got := make([]float32, len(src)+1)
			got[len(src)-start] = 42 // must stay
			widenF16(got[:len(src)-start], src[start:])
			for i, h := range src[start:] {
				w := math.Float32bits(safetensors.F16ToFloat32(h))
				if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
					w |= 1 << 22 // quiet
				}
				if g := math.Float32bits(got[i]); g != w {
					t.Fatalf("%s: widenF16(%#04x) = %#08x, want %#08x", name, h, g, w)
				}
			}
			if got[len(src)-start] != 42 {
				t.Fatalf("%s: widenF16 wrote past its end", name)
			}
		}
	}
	check("default")
	if widenF16x8 == nil {
		t.Log("no F16C assembly on this CPU/build: the portable loop is the only one")
		return
	}
	saved := widenF16x8
	widenF16x8 = nil
	defer func() { widenF16x8 = saved }()
	check("portable")
}

// TestDecodeMatchesTheScalarLoops checks Weights.Decode with the assembly (widen8, widenF16x8,
// scaleQ8x8, q8Blocks; the strip decoders stripBF16, stripF16, q8Blocks with a row stride) against
// the same with the portable loops, every length 0…70 from every start 0…40
// (runs that start and end inside Q8 blocks, tails of 8), Q8 offsets into its blocks (a slice of
// k, from) included, and Weights.at on every element.
func TestDecodeMatchesTheScalarLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	noAsm := func(f func()) {
		w8, f8, q8, qb, sb, sf := widen8, widenF16x8, scaleQ8x8, q8Blocks, stripBF16, stripF16
		widen8, widenF16x8, scaleQ8x8, q8Blocks, stripBF16, stripF16 = nil, nil, nil, nil, nil, nil
		defer func() { widen8, widenF16x8, scaleQ8x8, q8Blocks, stripBF16, stripF16 = w8, f8, q8, qb, sb, sf }()
		f()
	}
	for _, st := range storages {
		B := newStoredB(rng, st, 4*Q8Block)
		if st == formQ8 { // scales +Inf and a signalling NaN: the products' NaNs, whichever path
			B.w.Q8.D[2], B.w.Q8.D[3] = 0x7d01, 0x7c00
			for e := 2 * Q8Block; e < 4*Q8Block; e++ {
				B.f[e] = safetensors.F16ToFloat32(B.w.Q8.D[e/Q8Block]) * float32(B.w.Q8.Q[e])
			}
		}
		for _, off := range []int{0, 5, 32, 40} {
			w := B.w.from(off)
			for i := 0; i+off < len(B.f) && i <= 40; i++ {
				for n := 0; i+off+n <= len(B.f) && n <= 70; n++ {
					got, want := make([]float32, n+1), make([]float32, n+1)
					got[n], want[n] = 42, 42
					w.Decode(got[:n], i)
					noAsm(func() { w.Decode(want[:n], i) })
					if j := firstDiff(got, want); j >= 0 {
						t.Fatalf("%s off=%d i=%d n=%d: element %d decoded as %v, the portable loop %v", st, off, i, n, j, got[j], want[j])
					}
					for j := 0; j < n; j++ {
						if math.Float32bits(got[j]) != math.Float32bits(B.f[off+i+j]) || math.Float32bits(w.at(i+j)) != math.Float32bits(B.f[off+i+j]) {
							t.Fatalf("%s off=%d: element %d decoded as %v (at: %v), stands for %v", st, off, i+j, got[j], w.at(i+j), B.f[off+i+j])
						}
					}
				}
			}
		}
		// Strips of 32 columns of a (k, ldb) matrix, ldb 64: k rows from column j.
		for _, j := range []int{0, 32, 5} {
			for _, k := range []int{1, 2} {
				got, want := make([]float32, 32*k+1), make([]float32, 32*k+1)
				got[32*k], want[32*k] = 42, 42
				B.w.decodeStrip(got[:32*k], j, 64, k)
				noAsm(func() { B.w.decodeStrip(want[:32*k], j, 64, k) })
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("%s strip j=%d k=%d: element %d decoded as %v, the portable loop %v", st, j, k, i, got[i], want[i])
				}
				for p := 0; p < k; p++ {
					if i := firstDiff(got[32*p:32*p+32], B.f[p*64+j:p*64+j+32]); i >= 0 {
						t.Fatalf("%s strip j=%d row %d: column %d decoded as %v, stands for %v", st, j, p, j+i, got[32*p+i], B.f[p*64+j+i])
					}
				}
			}
		}
	}
}

// TestWeightsRefuseTwoStorages checks the programmer-error panics of a malformed operand.
func TestWeightsRefuseTwoStorages(t *testing.T) {
	for name, w := range map[string]Weights{
		"f32 and bf16":    {F32: make([]float32, 4), BF16: make([]uint16, 4)},
		"q8 short scales": {Q8: Q8{Q: make([]int8, 64), D: make([]uint16, 1)}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			w.Len()
		}()
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
