package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// testConfigs covers every path of the driver: each micro-kernel (the pure-Go one included on an
// AVX2 machine), packed and in-place operands, tiny blocks (many KC/MC/NC edges, k cut into
// slices) and the default blocks, one goroutine and three (forced even for small products).
func testConfigs() []struct {
	name string
	cfg  config
} {
	// Each kernel alone, and with its packed-panel variant where it has one.
	var variants []namedKernel
	for _, nk := range kernels {
		variants = append(variants, namedKernel{name: nk.name, k: nk.k})
		if nk.packed != nil {
			variants = append(variants, namedKernel{name: nk.name + "+packed", k: nk.k, packed: nk.packed})
		}
	}
	var out []struct {
		name string
		cfg  config
	}
	for _, kn := range variants {
		for _, blk := range []struct {
			name            string
			kc, mc, ncb, kb int
		}{{"tiny", 8, 12, 1, 1}, {"default", defaultConfig.kc, defaultConfig.mc, defaultConfig.ncBytes, defaultConfig.kBytes}} {
			for _, inPlace := range []int{-1, 0, 1} {
				for _, threads := range []int{1, 3} {
					out = append(out, struct {
						name string
						cfg  config
					}{
						fmt.Sprintf("%s/%s/inplace%+d/t%d", kn.name, blk.name, inPlace, threads),
						config{name: kn.name, kernel: kn.k, packed: kn.packed, threads: threads, kc: blk.kc, mc: blk.mc, ncBytes: blk.ncb, kBytes: blk.kb, inPlace: inPlace},
					})
				}
			}
		}
	}
	return out
}

// operand is a matrix stored row-major with padding: rows × cols inside a buffer with stride
// ld = cols + 3 and three extra elements at the end, padding filled with NaN.
type operand struct {
	rows, cols, ld int
	f              []float32
	h              []uint16 // bf16 copy of the same values (a bf16 B operand)
}

func newOperand(rng *rand.Rand, rows, cols int) operand {
	o := operand{rows: rows, cols: cols, ld: cols + 3}
	size := max(rows-1, 0)*o.ld + cols + 3
	o.f = make([]float32, size)
	o.h = make([]uint16, size)
	for i := range o.f {
		o.f[i] = float32(math.NaN())
		o.h[i] = 0x7fc0 // bf16 NaN
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			h := uint16(math.Float32bits(float32(rng.NormFloat64())) >> 16)
			o.h[r*o.ld+c] = h
			o.f[r*o.ld+c] = BF16ToFloat32(h)
		}
	}
	return o
}

func sameBits(x, y []float32) bool {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

type gemmCase struct {
	transA, transB, bf16 bool
	m, n, k              int
	alpha, beta          float32
}

// prepared is one case: padded operands, Naive's result and the error bound of every element.
type prepared struct {
	tc       gemmCase
	A, B, C  operand
	a0, b0   []float32 // copies of the inputs, to check they are unchanged
	bh0      []uint16
	want     []float32
	bound    []float64 // per element of C.f (layout with padding)
	shortRow bool
}

// prepare draws the operands of tc and computes the reference: Naive (or NaiveW) and the
// bound 2·(k+2)·eps·|alpha|·Σ|a||b| + 4·eps·|beta·c| on each element's error.
func prepare(rng *rand.Rand, tc gemmCase) *prepared {
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tc.transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tc.transB {
		br, bc = n, k
	}
	p := &prepared{tc: tc, A: newOperand(rng, ar, ac), B: newOperand(rng, br, bc), C: newOperand(rng, m, n)}
	A, B, C := p.A, p.B, p.C
	if tc.beta == 0 {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				C.f[i*C.ld+j] = float32(math.NaN()) // must not propagate
			}
		}
	}
	p.a0, p.b0, p.bh0 = append([]float32(nil), A.f...), append([]float32(nil), B.f...), append([]uint16(nil), B.h...)
	p.want = append([]float32(nil), C.f...)
	if tc.bf16 {
		NaiveW(tc.transA, tc.transB, m, n, k, tc.alpha, A.f, A.ld, Weights{BF16: B.h}, B.ld, tc.beta, p.want, C.ld)
	} else {
		Naive(tc.transA, tc.transB, m, n, k, tc.alpha, A.f, A.ld, B.f, B.ld, tc.beta, p.want, C.ld)
	}
	const eps = 1.0 / (1 << 23)
	p.bound = make([]float64, len(C.f))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for q := 0; q < k; q++ {
				var av, bv float64
				if tc.transA {
					av = float64(A.f[q*A.ld+i])
				} else {
					av = float64(A.f[i*A.ld+q])
				}
				if tc.transB {
					bv = float64(B.f[j*B.ld+q])
				} else {
					bv = float64(B.f[q*B.ld+j])
				}
				s += math.Abs(av * bv)
			}
			idx := i*C.ld + j
			p.bound[idx] = 2*float64(k+2)*eps*(math.Abs(float64(tc.alpha))*s) + 1e-30
			if tc.beta != 0 {
				p.bound[idx] += 4 * eps * math.Abs(float64(tc.beta*C.f[idx]))
			}
		}
	}
	return p
}

// verify runs f on a fresh copy of C and compares: every element within its bound, padding of C
// untouched (still NaN), inputs unchanged. It returns the largest error relative to the bound.
func (p *prepared) verify(t *testing.T, name string, f func(a []float32, lda int, b Weights, ldb int, c []float32, ldc int)) float64 {
	t.Helper()
	tc, A, B, C := p.tc, p.A, p.B, p.C
	m, n := tc.m, tc.n
	got := append([]float32(nil), C.f...)
	if tc.bf16 {
		f(A.f, A.ld, Weights{BF16: B.h}, B.ld, got, C.ld)
	} else {
		f(A.f, A.ld, Weights{F32: B.f}, B.ld, got, C.ld)
	}
	if !sameBits(p.a0, A.f) || !sameBits(p.b0, B.f) || !slices.Equal(p.bh0, B.h) {
		t.Fatalf("%s %+v: an input was modified", name, tc)
	}
	worst := 0.0
	for i := 0; i < m; i++ {
		for j := 0; j < n+3; j++ {
			idx := i*C.ld + j
			if idx >= len(got) {
				break
			}
			if j >= n {
				if !math.IsNaN(float64(got[idx])) {
					t.Fatalf("%s %+v: wrote C padding at row %d col %d", name, tc, i, j)
				}
				continue
			}
			diff := math.Abs(float64(got[idx]) - float64(p.want[idx]))
			if math.IsNaN(diff) || diff > p.bound[idx] {
				t.Fatalf("%s %+v: C[%d,%d] = %g, naive %g (bound %g)", name, tc, i, j, got[idx], p.want[idx], p.bound[idx])
			}
			worst = max(worst, diff/p.bound[idx])
		}
	}
	for idx := (m-1)*C.ld + n; idx < len(got); idx++ {
		if !math.IsNaN(float64(got[idx])) {
			t.Fatalf("%s %+v: wrote past the end of C at %d", name, tc, idx)
		}
	}
	return worst
}

// check prepares tc and verifies f on it.
func check(t *testing.T, rng *rand.Rand, name string, tc gemmCase, f func(a []float32, lda int, b Weights, ldb int, c []float32, ldc int)) float64 {
	t.Helper()
	return prepare(rng, tc).verify(t, name, f)
}

var scalars = []struct{ alpha, beta float32 }{{1, 0}, {-0.75, 0}, {1, 1}, {1.5, -0.5}, {0, 2}}

func TestBlockedMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	configs := testConfigs()
	worst := map[string]float64{}
	for _, blk := range []struct{ kc, mc int }{{8, 12}, {defaultConfig.kc, defaultConfig.mc}} {
		sizes := [][3]int{{1, 1, 1}, {1, 17, 9}, {5, 1, 3}, {6, 16, 8}, {7, 15, 7}, {5, 17, 9}, {13, 33, 17}, {25, 47, 31}, {12, 64, 65}, {70, 20, 40}, {3, 90, 25}, {40, 3, 50}}
		if kc, mc := blk.kc, blk.mc; kc != 8 {
			// KC±1 (k blocks are split evenly, so 2·KC+1 gives three short ones), MC±1.
			sizes = append(sizes, [3]int{23, 35, kc - 1}, [3]int{13, 18, kc + 1}, [3]int{11, 70, kc}, [3]int{7, 20, 2*kc + 1},
				[3]int{mc + 1, 20, 30}, [3]int{mc - 1, 33, 17}, [3]int{97, 40, 100})
		}
		for range 6 { // and random ones
			sizes = append(sizes, [3]int{1 + rng.IntN(120), 1 + rng.IntN(90), 1 + rng.IntN(min(3*blk.kc, 500))})
		}
		for si, s := range sizes {
			for form := 0; form < 8; form++ {
				sc := scalars[(si+form)%len(scalars)]
				gc := gemmCase{transA: form&1 != 0, transB: form&2 != 0, bf16: form&4 != 0, m: s[0], n: s[1], k: s[2], alpha: sc.alpha, beta: sc.beta}
				p := prepare(rng, gc)
				for _, tc := range configs {
					if tc.cfg.kc != blk.kc {
						continue
					}
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

// TestSgemmMatchesNaive checks the public entry points (default dispatch, GOMAXPROCS goroutines)
// on the model's shapes scaled down, skinny LoRA forms included, with every scalar pair and k = 0.
func TestSgemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := [][3]int{{0, 5, 3}, {4, 0, 3}, {9, 11, 0}, {150, 45, 61}, {150, 16, 61}, {150, 61, 16}, {16, 61, 150}, {61, 16, 150}, {201, 130, 97}}
	worst := 0.0
	for si, s := range sizes {
		for form := 0; form < 8; form++ {
			for _, sc := range scalars[si%2:] {
				gc := gemmCase{transA: form&1 != 0, transB: form&2 != 0, bf16: form&4 != 0, m: s[0], n: s[1], k: s[2], alpha: sc.alpha, beta: sc.beta}
				if gc.m == 0 || gc.n == 0 {
					// Nothing to compare; the call must simply not touch anything.
					Sgemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, 1, nil, max(gc.k, gc.m, 1), nil, max(gc.k, gc.n, 1), 0, nil, max(gc.n, 1))
					continue
				}
				worst = max(worst, check(t, rng, "Sgemm", gc, func(a []float32, lda int, b Weights, ldb int, c []float32, ldc int) {
					if b.F32 == nil {
						SgemmW(gc.transA, gc.transB, gc.m, gc.n, gc.k, gc.alpha, a, lda, b, ldb, gc.beta, c, ldc)
					} else {
						Sgemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, gc.alpha, a, lda, b.F32, ldb, gc.beta, c, ldc)
					}
				}))
			}
		}
	}
	t.Logf("Sgemm: worst error / bound = %.3g", worst)
}

// TestKernelsAgree runs each micro-kernel alone on one tile, with in-place strides and with
// packed ones (its packed variant too), in both write-back modes, against the pure-Go kernel.
func TestKernelsAgree(t *testing.T) {
	if len(kernels) == 1 {
		t.Skip("no assembly micro-kernel on this CPU/build")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, nk := range kernels[1:] {
		for _, kc := range []int{0, 1, 2, 3, 4, 5, 7, 17} {
			a := make([]float32, 7*40)
			b := make([]float32, 40*19)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			for _, beta := range []float32{0, 0.5} {
				for _, packed := range []bool{false, true} {
					k, rsa, csa, rsb := nk.k, 40, 1, 19
					if packed {
						rsa, csa, rsb = 1, MR, NR
						if nk.packed != nil {
							k = nk.packed
						}
					}
					want := make([]float32, 6*21)
					for i := range want {
						want[i] = float32(rng.NormFloat64())
					}
					got := append([]float32(nil), want...)
					kernelGo(kc, &a[0], rsa, csa, &b[0], rsb, &want[0], 21, 1.25, beta)
					k(kc, &a[0], rsa, csa, &b[0], rsb, &got[0], 21, 1.25, beta)
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*float64(kc+1) {
							t.Fatalf("%s packed=%v kc=%d beta=%g: element %d = %g, go kernel %g", nk.name, packed, kc, beta, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestSetKernel checks the kernel registry: every listed kernel can be chosen, others are errors.
func TestSetKernel(t *testing.T) {
	defer active.Store(nil)
	for _, name := range Kernels() {
		if err := SetKernel(name); err != nil || KernelName() != name {
			t.Errorf("SetKernel(%q) = %v, KernelName() = %q", name, err, KernelName())
		}
	}
	if err := SetKernel("sse9"); err == nil {
		t.Error("SetKernel(sse9) succeeded")
	}
}

func TestBadArgumentsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"negative": func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) },
		"short lda": func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		},
		"short c": func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestSgemmReusesBuffers checks that a call in the steady state allocates nothing (packing
// buffers come from the pool, workers are persistent), on a product large enough to go parallel.
func TestSgemmReusesBuffers(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	const m, n, k = 170, 180, 190 // 11.6 MFLOP: parallel
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	f := func() { Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n) }
	f()
	if allocs := testing.AllocsPerRun(20, f); allocs > 0 {
		t.Errorf("Sgemm allocates %v times per call in the steady state", allocs)
	}
	// B held in Q8 (decoded while packed: through the goroutines' scratch), both forms, and on
	// the small-m path.
	q := Weights{Q8: Q8{Q: make([]int8, k*n), D: make([]uint16, k*n/Q8Block+1)}}
	for _, transB := range []bool{true, false} {
		for _, rows := range []int{m, 1} {
			ldb := k
			if !transB {
				ldb = n
			}
			f := func() { SgemmW(false, transB, rows, n, k, 1, a, k, q, ldb, 0, c, n) }
			f()
			if allocs := testing.AllocsPerRun(20, f); allocs > 0 {
				t.Errorf("SgemmW (Q8, transB=%v, m=%d) allocates %v times per call in the steady state", transB, rows, allocs)
			}
		}
	}
}

// TestSgemmConcurrentCallers runs products from several goroutines at once (as a parallel caller
// does): each must match Naive, whichever of them gets the worker pool.
func TestSgemmConcurrentCallers(t *testing.T) {
	const callers, rounds = 4, 3
	errs := make(chan string, callers*rounds)
	var wg sync.WaitGroup
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for r := 0; r < rounds; r++ {
				m, n, k := 150+rng.IntN(60), 100+rng.IntN(90), 200+rng.IntN(90) // ≥ 8 MFLOP: parallel
				a, b := make([]float32, m*k), make([]float32, k*n)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				got, want := make([]float32, m*n), make([]float32, m*n)
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, got, n)
				Naive(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-3 {
						errs <- fmt.Sprintf("caller %d round %d: element %d = %g, naive %g", g, r, i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestBenchShapeNamesAreUnique: the bench command selects shapes by Name.
func TestBenchShapeNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range BenchShapes {
		if seen[s.Name()] {
			t.Errorf("duplicate shape %s", s.Name())
		}
		seen[s.Name()] = true
	}
}
