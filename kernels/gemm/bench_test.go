package gemm

import (
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// kernelFlag picks the micro-kernel of BenchmarkSgemm* (see Kernels), e.g. -gemm.kernel=avx2.
var kernelFlag = flag.String("gemm.kernel", "", "micro-kernel for the Sgemm benchmarks (default: fastest)")

func setKernelFlag(b *testing.B) {
	if *kernelFlag != "" {
		if err := SetKernel(*kernelFlag); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("micro-kernel %s", KernelName())
}

// Tuning knobs for benchmark runs only: GEMM_KC, GEMM_MC, GEMM_NC_BYTES, GEMM_K_BYTES override the blocking.
func init() {
	for env, p := range map[string]*int{"GEMM_KC": &defaultConfig.kc, "GEMM_MC": &defaultConfig.mc, "GEMM_NC_BYTES": &defaultConfig.ncBytes, "GEMM_K_BYTES": &defaultConfig.kBytes} {
		if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
			*p = v
		}
	}
}

// Run with: go test ./kernels/gemm -run '^$' -bench . -cpu 1,2   (-short skips the vocabulary shape)

// benchOperands allocates random operands for s (packed: lda, ldb, ldc are the row lengths).
func benchOperands(s Shape) (a []float32, lda int, b []float32, ldb int, c []float32) {
	rng := rand.New(rand.NewPCG(7, 8))
	a, b, c = make([]float32, s.M*s.K), make([]float32, s.K*s.N), make([]float32, s.M*s.N)
	for i := range a {
		a[i] = rng.Float32() - 0.5
	}
	for i := range b {
		b[i] = rng.Float32() - 0.5
	}
	for i := range c {
		c[i] = 1 // fault the pages in before timing
	}
	lda, ldb = s.K, s.N
	if s.TransA {
		lda = s.M
	}
	if s.TransB {
		ldb = s.K
	}
	return a, lda, b, ldb, c
}

// BenchShape times f on s and reports GFLOP/s.
func benchShape(b *testing.B, s Shape, f func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	if s.Huge && testing.Short() {
		b.Skip("vocabulary shape skipped in -short mode")
	}
	a, lda, bb, ldb, c := benchOperands(s)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		f(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, bb, ldb, 0, c, s.N)
	}
	report(b, s.Flops(), cpu0)
}

// report adds GFLOP/s (wall) and GFLOP/cpu-s (process CPU time, insensitive to other processes
// sharing the cores; with n threads busy it is per core, so n × it bounds GFLOP/s).
func report(b *testing.B, flops, cpu0 float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
	}
}

func BenchmarkSgemm(b *testing.B) {
	setKernelFlag(b)
	for _, s := range BenchShapes {
		b.Run(s.Name(), func(b *testing.B) { benchShape(b, s, Sgemm) })
	}
}

// BenchmarkSgemmGoKernel is Sgemm with the portable micro-kernel (the path of CPUs without AVX2).
func BenchmarkSgemmGoKernel(b *testing.B) {
	cfg := defaultConfig
	useKernel(&cfg, kernels[0])
	for _, s := range BenchShapes {
		if s.Huge {
			continue
		}
		b.Run(s.Name(), func(b *testing.B) {
			benchShape(b, s, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
				blocked(&cfg, transA, transB, m, n, k, alpha, a, lda, Weights{F32: bb}, ldb, beta, c, ldc)
			})
		})
	}
}

// BenchmarkSgemmBF16B times the forward products with bf16 weights (SgemmW: B widened while
// packing).
func BenchmarkSgemmBF16B(b *testing.B) {
	setKernelFlag(b)
	for _, s := range BenchShapes {
		if !s.TransB || s.Huge {
			continue
		}
		b.Run(s.Name(), func(b *testing.B) {
			a, lda, bf, ldb, c := benchOperands(s)
			bh := make([]uint16, len(bf))
			for i, v := range bf {
				bh[i] = uint16(math.Float32bits(v) >> 16)
			}
			b.ResetTimer()
			cpu0 := cpuSeconds()
			for b.Loop() {
				SgemmW(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, Weights{BF16: bh}, ldb, 0, c, s.N)
			}
			report(b, s.Flops(), cpu0)
		})
	}
}

// BenchmarkKernel times the micro-kernels alone on packed panels held in L1 (kc = 384): the
// ceiling of the blocked driver.
func BenchmarkKernel(b *testing.B) {
	const kc = 384
	a, bb, c := make([]float32, MR*kc), make([]float32, NR*kc), make([]float32, MR*NR)
	for _, kn := range kernels {
		k := kn.k
		if kn.packed != nil {
			k = kn.packed
		}
		b.Run(kn.name, func(b *testing.B) {
			cpu0 := cpuSeconds()
			for b.Loop() {
				k(kc, &a[0], 1, MR, &bb[0], NR, &c[0], NR, 1, 1)
			}
			report(b, 2*MR*NR*kc, cpu0)
		})
	}
}

// BenchmarkSgemmSmall times square NN products too small for blocking to pay, where the fixed cost
// of a call (pooled state, packing, the parallel threshold) shows.
func BenchmarkSgemmSmall(b *testing.B) {
	setKernelFlag(b)
	for _, n := range []int{4, 16, 32, 64, 128} {
		s := Shape{M: n, N: n, K: n}
		b.Run(s.Name(), func(b *testing.B) { benchShape(b, s, Sgemm) })
	}
}

// BenchmarkSgemmDecode times the products of one decoding step of base-19m (m = 1: the small-m
// path), against the blocked path (packing B) and Naive, reporting GB/s of B read.
func BenchmarkSgemmDecode(b *testing.B) {
	setKernelFlag(b)
	blockedCfg := *activeConfig()
	blockedCfg.smallM = 0
	for _, s := range []Shape{{TransB: true, M: 1, N: 16384, K: 384}, {TransB: true, M: 1, N: 1024, K: 384}, {TransB: true, M: 1, N: 384, K: 1024}, {M: 1, N: 64, K: 512}} {
		for _, impl := range []struct {
			name string
			f    func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
		}{{"small", Sgemm}, {"blocked", func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
			blocked(&blockedCfg, transA, transB, m, n, k, alpha, a, lda, Weights{F32: bb}, ldb, beta, c, ldc)
		}}, {"naive", Naive}} {
			b.Run(s.Name()+"/"+impl.name, func(b *testing.B) {
				benchShape(b, s, impl.f)
				b.ReportMetric(4*float64(s.N*s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkPackA packs one MC×KC block of an untransposed A (192×384), with the assembly 6-row
// packer where there is one and with the scalar loop, reporting GB/s of A read.
func BenchmarkPackA(b *testing.B) {
	const mc, kc, lda = 192, 384, 1024
	a, dst := make([]float32, mc*lda), make([]float32, mc*kc)
	for _, v := range []struct {
		name string
		f    func(dst *float32, a *float32, lda int, n int)
	}{{"asm", packA6}, {"scalar", nil}} {
		if v.name == "asm" && v.f == nil {
			continue
		}
		b.Run(v.name, func(b *testing.B) {
			saved := packA6
			packA6 = v.f
			defer func() { packA6 = saved }()
			for b.Loop() {
				packA(dst, a, lda, false, 0, mc, 0, kc)
			}
			b.ReportMetric(4*mc*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// BenchmarkPackBTrans packs the B panels of a transposed B (a weight stored (out, in): the
// forward product's operand), 1024×384, with the assembly transposes where there are and with
// the scalar loop, reporting GB/s of B read.
func BenchmarkPackBTrans(b *testing.B) {
	const n, k = 1024, 384
	bb, dst := make([]float32, n*k), make([]float32, k*NR)
	for _, v := range []struct {
		name string
		f    func(dst *float32, ldd int, src *float32, lds int, n int)
	}{{"asm", transpose8}, {"scalar", nil}} {
		if v.name == "asm" && v.f == nil {
			continue
		}
		b.Run(v.name, func(b *testing.B) {
			saved := transpose8
			transpose8 = v.f
			defer func() { transpose8 = saved }()
			for b.Loop() {
				for j := 0; j < n; j += NR {
					packB(dst, Weights{F32: bb}, k, true, j, NR, k, nil)
				}
			}
			b.ReportMetric(4*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// BenchmarkBaseProducts compares, on the products with the frozen base in BenchShapes (forward
// NT and input-gradient NN forms, not the skinny LoRA ones), float32 compute with float32
// weights (f32), float32 compute with bf16 weights widened while packed (f32-bf16w) and bf16
// compute (bf16: SgemmBF16Compute with bf16 weights, kernel named by HasBF16). Run with
//
//	go test ./kernels/gemm -run '^$' -bench BaseProducts -count 5
func BenchmarkBaseProducts(b *testing.B) {
	b.Logf("micro-kernel %s, bf16 kernel %s", KernelName(), activeConfig().bf16Name)
	for _, s := range BenchShapes {
		if s.TransA || s.Skinny || (s.Huge && testing.Short()) {
			continue
		}
		a, lda, bf, ldb, c := benchOperands(s)
		bh := make([]uint16, len(bf))
		for i, v := range bf {
			bh[i] = RoundBF16(v)
		}
		for _, v := range []string{"f32", "f32-bf16w", "bf16"} {
			b.Run(s.Name()+"/"+v, func(b *testing.B) {
				cpu0 := cpuSeconds()
				for b.Loop() {
					switch v {
					case "f32":
						Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, bf, ldb, 0, c, s.N)
					case "f32-bf16w":
						SgemmW(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, Weights{BF16: bh}, ldb, 0, c, s.N)
					default:
						SgemmBF16Compute(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, Weights{BF16: bh}, ldb, 0, c, s.N)
					}
				}
				report(b, s.Flops(), cpu0)
			})
		}
	}
}

// BenchmarkStoredWeights compares, on base-19m's products with a frozen weight W (Out, In) —
// forward NT (tokens, Out, In) and input gradient NN (tokens, In, Out) at 2048 tokens and one
// decoding token — B held in float32, bf16, f16 and Q8 (SgemmW: decoded while packing) with the
// path it replaces for Q8: dequantise the whole weight into a float32 buffer, then Sgemm
// ("q8-dequantise-first"). Run with
//
//	go test ./kernels/gemm -run '^$' -bench StoredWeights -count 5
func BenchmarkStoredWeights(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, sh := range [][2]int{{1024, 384}, {384, 1024}} { // (Out, In): up/gate, down
		out, in := sh[0], sh[1]
		stored := map[form]storedB{}
		for _, f := range storages {
			stored[f] = newStoredB(rng, f, out*in)
		}
		for _, m := range []int{2048, 1} {
			for _, transB := range []bool{true, false} {
				n, k := out, in // forward: x (m, In) · Wᵀ
				if !transB {
					n, k = in, out // input gradient: dy (m, Out) · W
				}
				a, c := make([]float32, m*k), make([]float32, m*n)
				for i := range a {
					a[i] = rng.Float32() - 0.5
				}
				s := Shape{TransB: transB, M: m, N: n, K: k}
				for _, v := range []string{"f32", "bf16", "f16", "q8", "q8-dequantise-first"} {
					b.Run(s.Name()+"/"+v, func(b *testing.B) {
						var w Weights
						scratch := make([]float32, out*in)
						switch v {
						case "f32":
							w = Weights{F32: stored[formQ8].f}
						case "bf16":
							w = stored[formBF16].w
						case "f16":
							w = stored[formF16].w
						case "q8", "q8-dequantise-first":
							w = stored[formQ8].w
						}
						cpu0 := cpuSeconds()
						for b.Loop() {
							if v == "q8-dequantise-first" {
								w.Decode(scratch, 0)
								Sgemm(false, transB, m, n, k, 1, a, k, scratch, in, 0, c, n)
								continue
							}
							SgemmW(false, transB, m, n, k, 1, a, k, w, in, 0, c, n)
						}
						report(b, s.Flops(), cpu0)
					})
				}
			}
		}
	}
}
