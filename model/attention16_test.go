package model

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/kernels/gemm"
)

// bf is v rounded to bfloat16 (as the bf16 products round their inputs), in float64.
func bf(v float32) float64 { return float64(gemm.BF16ToFloat32(gemm.RoundBF16(v))) }

// attnCase is one attention geometry with random q, k, v and output gradient.
type attnCase struct {
	B, T, H, KV, D int
	window         int
	softcap        float32
	q, k, v, dout  []float32
	name           string
}

func newAttnCase(r *rand.Rand, window int, softcap float32) *attnCase {
	c := &attnCase{B: 2, T: 13, H: 4, KV: 2, D: 16, window: window, softcap: softcap}
	N := c.B * c.T
	c.q, c.k, c.v = randVec(r, N*c.H*c.D, 1), randVec(r, N*c.KV*c.D, 1), randVec(r, N*c.KV*c.D, 1)
	c.dout = randVec(r, N*c.H*c.D, 1)
	c.name = fmt.Sprintf("window%d-softcap%g", window, softcap)
	return c
}

func (c *attnCase) shape(bf16 bool) *attnShape {
	return &attnShape{B: c.B, T: c.T, H: c.H, KV: c.KV, D: c.D, scale: float32(1 / math.Sqrt(float64(c.D))),
		softcap: c.softcap, window: c.window, nw: workers(), ldo: c.H * c.D, bf16: bf16}
}

func (c *attnCase) x() qkv {
	return qkv{q: c.q, k: c.k, v: c.v, ldq: c.H * c.D, ldk: c.KV * c.D, ldv: c.KV * c.D}
}

// run is the forward pass with the probabilities saved, and the backward pass from them.
func (c *attnCase) run(bf16 bool) (out, att []float32, d qkv) {
	N := c.B * c.T
	s := c.shape(bf16)
	out, att = make([]float32, N*c.H*c.D), make([]float32, c.B*c.H*c.T*c.T)
	p := growScratch(nil, attnBlock*c.T)
	attentionForward(out, att, c.x(), s, p)
	d = qkv{q: make([]float32, N*c.H*c.D), k: make([]float32, N*c.KV*c.D), v: make([]float32, N*c.KV*c.D), ldq: c.H * c.D, ldk: c.KV * c.D, ldv: c.KV * c.D}
	s.tscratch = growScratch(nil, attnBlock*c.T)
	attentionBackward(d, c.dout, att, c.x(), s, p, growScratch(nil, attnBlock*c.T))
	return out, att, d
}

// TestBF16AttentionIsTheProductOfRoundedInputs checks attention under bf16 compute against
// float64 references of its arithmetic, on several blocks of query rows, GQA, a sliding window
// and softcapping: the saved probabilities are softmax(cap(scale·bf16(q)·bf16(k))) within
// numtest.F32 (float32 accumulation of exact bf16 products, float32 softmax), the output is
// Σ_j bf16(P_ij)·bf16(v_j) of those saved P within numtest.F32 of its scale, and so is the
// value gradient dV = Σ_i bf16(P_ij)·bf16(dO_i) (summed over the group's query heads). The
// output differs from float32 compute's (the setting takes effect).
func TestBF16AttentionIsTheProductOfRoundedInputs(t *testing.T) {
	smallAttnBlocks(t)
	r := rand.New(rand.NewSource(3))
	for _, c := range []*attnCase{newAttnCase(r, 0, 0), newAttnCase(r, 5, 0), newAttnCase(r, 0, 2)} {
		t.Run(c.name, func(t *testing.T) {
			out, att, d := c.run(true)
			T, D, qd, kvd, rep := c.T, c.D, c.H*c.D, c.KV*c.D, c.H/c.KV
			s := c.shape(true)
			wantOut := make([]float64, len(out))
			wantDV := make([]float64, len(d.v))
			var worstP float64
			for b := 0; b < c.B; b++ {
				for h := 0; h < c.H; h++ {
					g := h / rep
					for i := 0; i < T; i++ {
						lo, hi := s.span(i)
						sc := make([]float64, hi-lo)
						mx := math.Inf(-1)
						for j := lo; j < hi; j++ {
							var dot float64
							for e := 0; e < D; e++ {
								dot += bf(c.q[(b*T+i)*qd+h*D+e]) * bf(c.k[(b*T+j)*kvd+g*D+e])
							}
							dot *= float64(s.scale)
							if c.softcap != 0 {
								dot = float64(c.softcap) * math.Tanh(dot/float64(c.softcap))
							}
							sc[j-lo] = dot
							mx = max(mx, dot)
						}
						var sum float64
						for j := range sc {
							sc[j] = math.Exp(sc[j] - mx)
							sum += sc[j]
						}
						prow := att[((b*c.H+h)*T+i)*T:]
						for j := lo; j < hi; j++ {
							worstP = max(worstP, math.Abs(float64(prow[j])-sc[j-lo]/sum))
							pb := bf(prow[j])
							for e := 0; e < D; e++ {
								wantOut[(b*T+i)*qd+h*D+e] += pb * bf(c.v[(b*T+j)*kvd+g*D+e])
								wantDV[(b*T+j)*kvd+g*D+e] += pb * bf(c.dout[(b*T+i)*qd+h*D+e])
							}
						}
					}
				}
			}
			if worstP > numtest.F32 {
				t.Errorf("probabilities: max |P − float64 softmax of rounded inputs| = %.3g > %.3g", worstP, numtest.F32)
			}
			for _, x := range []struct {
				name string
				got  []float32
				want []float64
			}{{"output", out, wantOut}, {"dV", d.v, wantDV}} {
				scale := 0.0
				for _, v := range x.want {
					scale = max(scale, math.Abs(v))
				}
				if e := numtest.MaxAbsDiff64(x.got, x.want); e > numtest.F32*scale {
					t.Errorf("%s: max |bf16 attention − reference| = %.3g > %.3g", x.name, e, numtest.F32*scale)
				}
			}
			out32, _, _ := c.run(false)
			if numtest.SameBits(out, out32) {
				t.Error("bf16 compute gave float32 attention's bits")
			}
		})
	}
}

// TestBF16AttentionGradientsStayCloseToFloat32: the query and key gradients (through dP = dO·Vᵀ,
// the softmax backward and dS·K, dSᵀ·Q, all products on rounded inputs) and the value gradient
// are within numtest.BF16Model (relative L2) of float32 compute's, whose gradients the
// finite-difference tests check: each product's inputs move by up to 2⁻⁹ when rounded and two
// rounded products compound, about 1%, with room for the softmax backward's cancellation.
func TestBF16AttentionGradientsStayCloseToFloat32(t *testing.T) {
	smallAttnBlocks(t)
	r := rand.New(rand.NewSource(4))
	for _, c := range []*attnCase{newAttnCase(r, 0, 0), newAttnCase(r, 5, 0), newAttnCase(r, 0, 2)} {
		t.Run(c.name, func(t *testing.T) {
			_, _, d := c.run(true)
			_, _, d32 := c.run(false)
			for _, x := range []struct {
				name      string
				got, want []float32
			}{{"dQ", d.q, d32.q}, {"dK", d.k, d32.k}, {"dV", d.v, d32.v}} {
				e := numtest.RelL2(x.got, x.want)
				if e > numtest.BF16Model || numtest.SameBits(x.got, x.want) {
					t.Errorf("%s: relative L2 difference from float32 compute %.3g (want in (0, %.3g])", x.name, e, numtest.BF16Model)
				}
				t.Logf("%s: relative L2 %.3g", x.name, e)
			}
		})
	}
}

// TestBF16DecodingGivesTheForwardsAttentionBits: under bf16 compute, attention of a KV-cached
// decode (a prompt of 4 rows, then one row at a time: attentionCached) gives every row the bits
// the training/evaluation forward gives it over the whole sequence (attentionForward, in
// blocks of 3 query rows) — with a sliding window whose key ranges start off a multiple of 4,
// softcapping, and GQA.
func TestBF16DecodingGivesTheForwardsAttentionBits(t *testing.T) {
	smallAttnBlocks(t)
	for _, v := range []struct {
		window  int
		softcap float32
	}{{0, 0}, {5, 0}, {6, 0}, {0, 2}} {
		t.Run(fmt.Sprintf("window%d-softcap%g", v.window, v.softcap), func(t *testing.T) {
			m := tinyModel(t, "llama")
			m.SetCompute(ComputeBF16)
			m.lay.attnCap = v.softcap
			cfg := m.Config
			const T = 19
			r := rand.New(rand.NewSource(8))
			qd, kvd := cfg.QDim(), cfg.KVDim()
			x := qkv{q: randVec(r, T*qd, 1), k: randVec(r, T*kvd, 1), v: randVec(r, T*kvd, 1), ldq: qd, ldk: kvd, ldv: kvd}
			s := m.attnShape(0, 1, T)
			s.window = v.window
			full := make([]float32, T*qd)
			attentionForward(full, nil, x, s, growScratch(nil, attnBlock*T))

			kc := m.NewKVCache(T)
			got := make([]float32, T*qd)
			for p := 0; p < T; {
				n := 1
				if p == 0 {
					n = 4
				}
				kc.store(0, x.from(p), n, kvd)
				m.attentionCached(got[p*qd:], x.q[p*qd:], qd, kc, 0, n, s.scale, v.window)
				kc.Len += n
				p += n
			}
			for i := 0; i < T; i++ {
				if !numtest.SameBits(got[i*qd:(i+1)*qd], full[i*qd:(i+1)*qd]) {
					t.Fatalf("row %d: decoded attention differs from the forward's by %.3g", i, numtest.MaxAbsDiff(got[i*qd:(i+1)*qd], full[i*qd:(i+1)*qd]))
				}
			}
			// The cache's rounded copy follows a Reset (rows rewritten from 0).
			kc.Reset()
			y := qkv{q: x.q, k: randVec(r, T*kvd, 1), v: randVec(r, T*kvd, 1), ldq: qd, ldk: kvd, ldv: kvd}
			kc.store(0, y, T, kvd)
			m.attentionCached(got, y.q, qd, kc, 0, T, s.scale, v.window)
			attentionForward(full, nil, y, s, growScratch(nil, attnBlock*T))
			if !numtest.SameBits(got, full) {
				t.Fatal("after Reset: decoded attention differs from the forward's (stale rounded keys or values)")
			}
		})
	}
}

// BenchmarkAttention is one base-19m layer's attention at batch 4 × 512 (6 heads, 2 KV heads,
// head dim 64; probabilities saved), forward and backward, float32 and bf16 compute, in GFLOP
// per CPU-second (the machine is shared): go test ./model -run '^$' -bench Attention.
func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	c := &attnCase{B: 4, T: 512, H: 6, KV: 2, D: 64}
	N := c.B * c.T
	c.q, c.k, c.v = randVec(r, N*c.H*c.D, 1), randVec(r, N*c.KV*c.D, 1), randVec(r, N*c.KV*c.D, 1)
	c.dout = randVec(r, N*c.H*c.D, 1)
	out, att := make([]float32, N*c.H*c.D), make([]float32, c.B*c.H*c.T*c.T)
	d := qkv{q: make([]float32, N*c.H*c.D), k: make([]float32, N*c.KV*c.D), v: make([]float32, N*c.KV*c.D), ldq: c.H * c.D, ldk: c.KV * c.D, ldv: c.KV * c.D}
	p, dp := growScratch(nil, attnBlock*c.T), growScratch(nil, attnBlock*c.T)
	for _, bf16 := range []bool{false, true} {
		name := "f32"
		if bf16 {
			name = "bf16"
		}
		s := c.shape(bf16)
		s.ops = new([]uint16)
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuSeconds()
			for b.Loop() {
				attentionForward(out, att, c.x(), s, p)
				clear(d.k)
				clear(d.v)
				attentionBackward(d, c.dout, att, c.x(), s, p, dp)
			}
			fl := 6 * float64(c.B*c.H) * float64(c.T*c.T/2) * float64(2*c.D) // six products over the causal half
			b.ReportMetric(fl*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "GFLOP/CPU-s")
		})
	}
}
