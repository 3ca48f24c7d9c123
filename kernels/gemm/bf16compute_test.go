package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bf16Operand is a rows × cols float32 matrix with full 24-bit significands (so rounding to bf16
// matters) and its bf16 rounding, row stride cols+3, padding NaN.
type bf16Operand struct {
	ld int
	f  []float32
	h  []uint16
}

func newBF16Operand(rng *rand.Rand, rows, cols int) bf16Operand {
	o := bf16Operand{ld: cols + 3}
	size := max(rows-1, 0)*o.ld + cols + 3
	o.f, o.h = make([]float32, size), make([]uint16, size)
	for i := range o.f {
		o.f[i], o.h[i] = float32(math.NaN()), 0x7fc0
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			v := float32(rng.NormFloat64())
			o.f[r*o.ld+c], o.h[r*o.ld+c] = v, RoundBF16(v)
		}
	}
	return o
}

// bf16Case is one product of the bf16 tests: its operands and a C whose padding is NaN (and
// whose m×n part is NaN too when beta == 0: it must not propagate).
type bf16Case struct {
	transA, transB, b16 bool
	m, n, k             int
	alpha, beta         float32
	A, B                bf16Operand
	c0                  []float32
	ldc                 int
}

func newBF16Case(rng *rand.Rand, transA, transB, b16 bool, m, n, k int, alpha, beta float32) *bf16Case {
	ar, ac, br, bc := m, k, k, n
	if transA {
		ar, ac = k, m
	}
	if transB {
		br, bc = n, k
	}
	tc := &bf16Case{transA: transA, transB: transB, b16: b16, m: m, n: n, k: k, alpha: alpha, beta: beta,
		A: newBF16Operand(rng, ar, ac), B: newBF16Operand(rng, br, bc), ldc: n + 3}
	tc.c0 = make([]float32, max(m-1, 0)*tc.ldc+n+3)
	for i := range tc.c0 {
		tc.c0[i] = float32(math.NaN())
		if i%tc.ldc < n && beta != 0 {
			tc.c0[i] = float32(rng.NormFloat64())
		}
	}
	return tc
}

func (tc *bf16Case) String() string {
	return fmt.Sprintf("transA=%v transB=%v b16=%v m=%d n=%d k=%d alpha=%v beta=%v", tc.transA, tc.transB, tc.b16, tc.m, tc.n, tc.k, tc.alpha, tc.beta)
}

// b is the B operand: bf16 (b16) or float32.
func (tc *bf16Case) b() Weights {
	if tc.b16 {
		return Weights{BF16: tc.B.h}
	}
	return Weights{F32: tc.B.f}
}

// run computes the product with cfg (t2: a float32 second term, or nil) into a copy of c0.
func (tc *bf16Case) run(cfg *config, t2 *Term) []float32 {
	c := append([]float32(nil), tc.c0...)
	blockedAll(cfg, true, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.A.f, tc.A.ld, tc.b(), tc.B.ld, tc.beta, c, tc.ldc, t2)
	return c
}

// bf16Shapes: m = 1 (a decoding step), odd k (a half-empty last pair), tails of MR and NR, k past
// one KC block of words (2·384 + 1), k a multiple of the assembly packer's 32 steps, and ordinary sizes.
var bf16Shapes = [][3]int{{1, 1, 1}, {1, 33, 70}, {1, 16, 769}, {3, 100, 17}, {5, 17, 9}, {6, 16, 8}, {7, 15, 7},
	{13, 33, 17}, {25, 47, 31}, {12, 64, 65}, {70, 20, 40}, {40, 3, 50}, {9, 20, 64}, {65, 200, 129}, {97, 40, 769}}

// bf16Configs are the driver configurations the bf16 tests run: tiny blocks (KC = 8 words, one
// panel per column block, k cut into slices) and the default ones, one goroutine and three.
func bf16Configs(kernel kernelFunc) []struct {
	name string
	cfg  config
} {
	var out []struct {
		name string
		cfg  config
	}
	for _, blk := range []struct {
		name            string
		kc, mc, ncb, kb int
	}{{"tiny", 8, 12, 1, 1}, {"default", defaultConfig.kc, defaultConfig.mc, defaultConfig.ncBytes, defaultConfig.kBytes}} {
		for _, threads := range []int{1, 3} {
			cfg := defaultConfig
			cfg.kc, cfg.mc, cfg.ncBytes, cfg.kBytes = blk.kc, blk.mc, blk.ncb, blk.kb
			cfg.threads, cfg.minParallelFlops, cfg.bf16 = threads, 0, kernel
			out = append(out, struct {
				name string
				cfg  config
			}{fmt.Sprintf("%s/t%d", blk.name, threads), cfg})
		}
	}
	return out
}

// TestRoundBF16RoundsLikeTheHardware checks RoundBF16 on the cases VCVTNE2PS2BF16 defines: ties to
// even (down and up), a carry into the exponent, overflow to Inf, Inf, NaN quieted, subnormals to
// signed zero; packRowBF16 (the instruction itself) is compared with it on random bits in
// TestBF16PackingMatchesTheScalarLoops.
func TestRoundBF16RoundsLikeTheHardware(t *testing.T) {
	cases := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even below
		{0x3f818000, 0x3f82}, // tie, even above
		{0x3f808001, 0x3f81}, // just above the tie
		{0x3f7fffff, 0x3f80}, // carry into the exponent
		{0x7f7fffff, 0x7f80}, // past the largest bf16: +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7f800001, 0x7fc0}, // signalling NaN, quieted
		{0xffc12345, 0xffc1}, // quiet NaN keeps its payload's top
		{0x00000001, 0x0000}, // subnormal: +0
		{0x807fffff, 0x8000}, // subnormal: -0
		{0x00800000, 0x0080}, // smallest normal stays
	}
	for _, c := range cases {
		if got := RoundBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("RoundBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

// TestBF16KernelsGiveTheSameBits checks the claim the portable fallback rests on: the blocked
// driver gives exactly the same bits with the assembly micro-kernel (VDPBF16PS) as with
// kernelBF16Go, its step-for-step emulation — every form, float32 and bf16 B, the shapes of
// bf16Shapes, tiny and default blocks, one and three goroutines, every scalar pair, and the fused
// SgemmSum with a float32 rank-4 second term.
func TestBF16KernelsGiveTheSameBits(t *testing.T) {
	if defaultConfig.bf16Name == "go" {
		t.Skip("no AVX512-BF16 on this CPU: the Go kernel is the only one (nothing to compare)")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	asm, emu := bf16Configs(defaultConfig.bf16), bf16Configs(kernelBF16Go)
	for si, s := range bf16Shapes {
		for form := 0; form < 8; form++ {
			sc := scalars[(si+form)%len(scalars)]
			tc := newBF16Case(rng, form&1 != 0, form&2 != 0, form&4 != 0, s[0], s[1], s[2], sc.alpha, sc.beta)
			z, v := newBF16Operand(rng, s[0], 4), newBF16Operand(rng, s[1], 4)
			t2 := &Term{TransB: true, K: 4, Alpha: 0.25, A: z.f, Lda: z.ld, B: Weights{F32: v.f}, Ldb: v.ld}
			for ci := range asm {
				for _, term := range []*Term{nil, t2} {
					got, want := tc.run(&asm[ci].cfg, term), tc.run(&emu[ci].cfg, term)
					if i := firstDiff(got, want); i >= 0 {
						t.Fatalf("%s %v sum=%v: C[%d] = %v (%#08x) with %s, %v (%#08x) with the Go kernel", asm[ci].name, tc, term != nil,
							i, got[i], math.Float32bits(got[i]), defaultConfig.bf16Name, want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	}
}

// TestBF16ComputeMatchesNaive checks the arithmetic: the driver with the default bf16 kernel
// against NaiveBF16Compute (inputs rounded to bf16, float64 sums) within the float32 bound
// 2·(k+2)·eps·|alpha|·Σ|ā·b̄| + 4·eps·|beta·c| of Naive's tests; padding of C and, with beta = 0,
// C's NaNs must not come through; inputs stay unchanged. Also SgemmSum with a bf16 first term
// against the bf16 reference plus a Naive float32 second product.
func TestBF16ComputeMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	const eps = 1.0 / (1 << 23)
	for si, s := range bf16Shapes {
		for form := 0; form < 8; form++ {
			sc := scalars[(si+form)%len(scalars)]
			tc := newBF16Case(rng, form&1 != 0, form&2 != 0, form&4 != 0, s[0], s[1], s[2], sc.alpha, sc.beta)
			a0, b0, h0 := slices.Clone(tc.A.f), slices.Clone(tc.B.f), slices.Clone(tc.B.h)
			z, v := newBF16Operand(rng, s[0], 4), newBF16Operand(rng, s[1], 4)
			t2 := &Term{TransB: true, K: 4, Alpha: 0.25, A: z.f, Lda: z.ld, B: Weights{F32: v.f}, Ldb: v.ld}
			for _, cfg := range bf16Configs(defaultConfig.bf16) {
				for _, term := range []*Term{nil, t2} {
					got := tc.run(&cfg.cfg, term)
					want := slices.Clone(tc.c0)
					NaiveBF16Compute(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.A.f, tc.A.ld, tc.b(), tc.B.ld, tc.beta, want, tc.ldc)
					if term != nil {
						Naive(false, true, tc.m, tc.n, 4, 0.25, z.f, z.ld, v.f, v.ld, 1, want, tc.ldc)
					}
					for i := 0; i < tc.m; i++ {
						for j := 0; j < tc.ldc && i*tc.ldc+j < len(got); j++ {
							idx := i*tc.ldc + j
							if j >= tc.n {
								if !math.IsNaN(float64(got[idx])) {
									t.Fatalf("%s %v: wrote C padding at row %d col %d", cfg.name, tc, i, j)
								}
								continue
							}
							var sum float64 // Σ|ā·b̄| (+ the second term's)
							for p := 0; p < tc.k; p++ {
								ai, bi := i*tc.A.ld+p, p*tc.B.ld+j
								if tc.transA {
									ai = p*tc.A.ld + i
								}
								if tc.transB {
									bi = j*tc.B.ld + p
								}
								sum += math.Abs(float64(BF16ToFloat32(RoundBF16(tc.A.f[ai]))) * float64(BF16ToFloat32(tc.B.h[bi])))
							}
							bound := 2*float64(tc.k+2)*eps*math.Abs(float64(tc.alpha))*sum + 1e-30
							if tc.beta != 0 {
								bound += 4 * eps * math.Abs(float64(tc.beta*tc.c0[idx]))
							}
							if term != nil {
								for p := 0; p < 4; p++ {
									bound += 2 * float64(tc.k+6) * eps * 0.25 * math.Abs(float64(z.f[i*z.ld+p]*v.f[j*v.ld+p]))
								}
							}
							if d := math.Abs(float64(got[idx]) - float64(want[idx])); math.IsNaN(d) || d > bound {
								t.Fatalf("%s %v sum=%v: C[%d,%d] = %g, reference %g (bound %g)", cfg.name, tc, term != nil, i, j, got[idx], want[idx], bound)
							}
						}
					}
					if !sameBits(a0, tc.A.f) || !sameBits(b0, tc.B.f) || !slices.Equal(h0, tc.B.h) {
						t.Fatalf("%s %v: an input was modified", cfg.name, tc)
					}
				}
			}
		}
	}
}

// TestBF16ComputeRowsDoNotDependOnTheirBatch checks that a row's result has the same bits whether
// it is computed alone (m = 1, a decoding step), with a few rows (the small-m sizes, which float32
// products send down another path) or inside a large product: the bf16 path's summation order
// depends on k and n only.
func TestBF16ComputeRowsDoNotDependOnTheirBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, s := range [][2]int{{40, 70}, {200, 385}} {
		n, k := s[0], s[1]
		tc := newBF16Case(rng, false, true, true, 50, n, k, 1, 0)
		all := tc.run(activeConfig(), nil)
		for _, rows := range []int{1, 3, 4} {
			for i0 := 0; i0+rows <= tc.m; i0 += 17 {
				c := make([]float32, rows*tc.ldc)
				SgemmBF16Compute(false, true, rows, n, k, 1, tc.A.f[i0*tc.A.ld:], tc.A.ld, Weights{BF16: tc.B.h}, tc.B.ld, 0, c, tc.ldc)
				for r := 0; r < rows; r++ {
					got, want := c[r*tc.ldc:r*tc.ldc+n], all[(i0+r)*tc.ldc:(i0+r)*tc.ldc+n]
					if i := firstDiff(got, want); i >= 0 {
						t.Fatalf("n=%d k=%d: row %d computed among %d rows: C[%d] = %v, %v in the 50-row product", n, k, i0+r, rows, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestBF16KernelMatchesItsGoReference checks the micro-kernel alone against kernelBF16Go bit for
// bit on random packed panels: kc from 1 to 9 word steps (every tail of the 4-step loop) and
// longer, every scalar pair, values spread over 2^±20 so that sums round (and cancel) often, and
// subnormal inputs.
func TestBF16KernelMatchesItsGoReference(t *testing.T) {
	if defaultConfig.bf16Name == "go" {
		t.Skip("no AVX512-BF16 on this CPU: the Go kernel is the only one (nothing to compare)")
	}
	rng := rand.New(rand.NewPCG(37, 38))
	val := func() uint16 { return RoundBF16(float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(41)-20))) }
	for _, kc := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 384} {
		rsa := kc + 3 // A rows with a stride, as the driver's rows of kc words
		a, b := make([]float32, MR*rsa), make([]float32, kc*NR)
		for _, d := range [][]float32{a, b} {
			for i, w := 0, words(d); i < len(w); i++ {
				w[i] = pairWord(val(), val())
			}
			words(d)[0] = pairWord(0x0001, 0x8040) // subnormals (a bf16 B is packed as it is): read as zero
		}
		for _, sc := range scalars {
			const ldc = NR + 5
			c0 := make([]float32, MR*ldc)
			for i := range c0 {
				c0[i] = float32(rng.NormFloat64())
			}
			got, want := slices.Clone(c0), slices.Clone(c0)
			defaultConfig.bf16(kc, &a[0], rsa, 1, &b[0], NR, &got[0], ldc, sc.alpha, sc.beta)
			kernelBF16Go(kc, &a[0], rsa, 1, &b[0], NR, &want[0], ldc, sc.alpha, sc.beta)
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("kc=%d alpha=%v beta=%v: C[%d] = %v (%#08x), Go reference %v (%#08x)", kc, sc.alpha, sc.beta, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// TestBF16PackingMatchesTheScalarLoops checks the assembly packers against the Go loops they
// replace, word for word: rows of A rounded by VCVTNE2PS2BF16 (packRowBF16) on random bit
// patterns — NaNs, infinities, subnormals, ties included — and bf16 B panels built by two 8×8
// transposes of words (transB) or by interleaving two rows (packPairsBF16): even and odd k, even
// and odd ldb, whole and partial panels.
func TestBF16PackingMatchesTheScalarLoops(t *testing.T) {
	if packRowBF16 == nil && packPairsBF16 == nil && transpose8 == nil {
		t.Skip("no assembly packers on this CPU: the Go loops are the only ones")
	}
	rng := rand.New(rand.NewPCG(39, 40))
	noAsm := func(f func()) {
		pr, pp, tr := packRowBF16, packPairsBF16, transpose8
		packRowBF16, packPairsBF16, transpose8 = nil, nil, nil
		defer func() { packRowBF16, packPairsBF16, transpose8 = pr, pp, tr }()
		f()
	}
	for _, kc := range []int{1, 31, 32, 33, 64, 95, 320} {
		const mc = 7
		lda := kc + 5
		a := make([]float32, mc*lda)
		for i := range a {
			a[i] = math.Float32frombits(rng.Uint32())
		}
		a[0], a[1], a[2] = float32(math.Inf(-1)), math.Float32frombits(0x00000123), math.Float32frombits(0x3f808000)
		kw := (kc + 1) / 2
		got, want := make([]float32, mc*kw+1), make([]float32, mc*kw+1)
		got[mc*kw], want[mc*kw] = 42, 42 // must stay
		packABF16(got, a, lda, false, 0, mc, 0, kc)
		noAsm(func() { packABF16(want, a, lda, false, 0, mc, 0, kc) })
		if !slices.Equal(words(got), words(want)) || got[mc*kw] != 42 {
			t.Fatalf("A kc=%d: rows packed by the assembly differ from the Go loop (or it wrote past them)", kc)
		}
	}
	for _, k := range []int{1, 2, 15, 16, 17, 33, 64, 200} {
		for _, ldb := range []int{k + 2, k + 3} {
			for _, cols := range []int{NR, 9} {
				for _, transB := range []bool{false, true} {
					rows := k + 1
					if transB {
						rows = NR + 1
					}
					b16 := make([]uint16, rows*ldb+NR)
					for i := range b16 {
						b16[i] = uint16(rng.Uint32())
					}
					kw := (k + 1) / 2
					got, want := make([]float32, kw*NR), make([]float32, kw*NR)
					packBBF16(got, Weights{BF16: b16}, ldb, transB, 1, cols, k)
					noAsm(func() { packBBF16(want, Weights{BF16: b16}, ldb, transB, 1, cols, k) })
					if !slices.Equal(words(got), words(want)) {
						t.Fatalf("B k=%d ldb=%d cols=%d transB=%v: panel packed by the assembly differs from the Go loop", k, ldb, cols, transB)
					}
				}
			}
		}
	}
}
