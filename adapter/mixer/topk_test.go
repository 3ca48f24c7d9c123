package mixer

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
)

// topkWith builds a gated-topk mixer (R = 2K, blocks of 2) whose gate reads In = K inputs through
// G = I, so a token's logits are its input x plus c.
func topkWith(t *testing.T, k, top int) *TopK {
	t.Helper()
	mx, err := New(GatedTopKName, Shape{R: 2 * k, In: k, K: k, TopK: top})
	if err != nil {
		t.Fatal(err)
	}
	q := mx.(*TopK)
	clear(q.G)
	for m := 0; m < k; m++ {
		q.G[m*k+m] = 1
	}
	return q
}

// By hand, K = 4, k = 2. Token 1: logits (0, ln 3, −1, 0): the two largest are ln 3 (index 1) and
// 0, which ties between indices 0 and 3 — index 0 is taken. Gates: softmax(0, ln 3) = (¼, ¾) on
// indices 0 and 1, exactly 0 on 2 and 3. Token 2: logits all 0: indices 0 and 1, (½, ½).
func TestTopKGateKeepsTheKLargestRenormalisedAndBreaksTiesByIndex(t *testing.T) {
	q := topkWith(t, 4, 2)
	x := []float32{0, float32(math.Log(3)), -1, 0, 0, 0, 0, 0}
	h := make([]float32, 2*8)
	for i := range h {
		h[i] = 1
	}
	z := q.Forward(h, x, 2)
	want := []float64{0.25, 0.75, 0, 0, 0.5, 0.5, 0, 0}
	for i, w := range want {
		g := q.g[i]
		if math.Abs(float64(g)-w) > numtest.F32 || (w == 0) != (g == 0) {
			t.Errorf("gate %d of token %d = %v, want %v (exactly 0 when not selected)", i%4, i/4, g, w)
		}
		for j := 0; j < 2; j++ { // z = g·h on the block's two latent coordinates
			if z[(i/4)*8+(i%4)*2+j] != g {
				t.Errorf("z of token %d block %d = %v, want the gate %v", i/4, i%4, z[(i/4)*8+(i%4)*2+j], g)
			}
		}
	}
}

// With k = K every index is selected and the gate is the gated mixer's softmax: forward and
// backward (dh, dG, dc and the input-gradient product) are bit-identical for the same tensors.
func TestTopKWithKEqualToKIsTheGatedMixerBitForBit(t *testing.T) {
	const r, k, in, n = 6, 3, 5, 4
	top, err := New(GatedTopKName, Shape{R: r, In: in, K: k, TopK: k})
	if err != nil {
		t.Fatal(err)
	}
	gated, _ := New(GatedName, Shape{R: r, In: in, K: k})
	rng := rand.New(rand.NewPCG(3, 4))
	rnd := func(v []float32) []float32 {
		for i := range v {
			v[i] = float32(2*rng.Float64() - 1)
		}
		return v
	}
	for i, p := range top.Params() {
		rnd(p.W)
		copy(gated.Params()[i].W, p.W)
	}
	h, x, dz := rnd(make([]float32, n*r)), rnd(make([]float32, n*in)), rnd(make([]float32, n*r))
	z1 := append([]float32(nil), top.Forward(h, x, n)...)
	z2 := gated.Forward(h, x, n)
	dh1, p1 := top.Backward(dz, h, x, n)
	dh2, p2 := gated.Backward(dz, h, x, n)
	if !numtest.SameBits(z1, z2) || !numtest.SameBits(dh1, dh2) || !numtest.SameBits(p1.U, p2.U) || !numtest.SameBits(p1.V, p2.V) {
		t.Fatalf("k = K differs from the gated mixer: z %.3g, dh %.3g, dℓ %.3g", numtest.MaxAbsDiff(z1, z2), numtest.MaxAbsDiff(dh1, dh2), numtest.MaxAbsDiff(p1.U, p2.U))
	}
	for i, p := range top.Params() {
		if !numtest.SameBits(p.G, gated.Params()[i].G) {
			t.Errorf("gradient of %s differs from the gated mixer's", p.Key)
		}
	}
}

// The unselected subspaces get nothing: dh is 0 on their blocks and their gate logits' gradient
// is 0, so G's rows and c of a subspace no token selected do not move.
func TestTopKGradientFlowsOnlyThroughTheSelectedGates(t *testing.T) {
	q := topkWith(t, 4, 2)
	q.C[3] = -100 // subspace 3 is never selected
	x := []float32{0.3, -0.2, 0.1, 0.5, -0.4, 0.2, 0.6, 0.1}
	h, dz := make([]float32, 16), make([]float32, 16)
	for i := range h {
		h[i], dz[i] = float32(i%5)-2, float32(i%3)-0.5
	}
	q.Forward(h, x, 2)
	dh, _ := q.Backward(dz, h, x, 2)
	for tok := 0; tok < 2; tok++ {
		for m := 0; m < 4; m++ {
			sel := q.g[tok*4+m] != 0
			for j := 0; j < 2; j++ {
				if d := dh[tok*8+m*2+j]; !sel && d != 0 {
					t.Errorf("token %d, unselected block %d: dh %v, want 0", tok, m, d)
				}
			}
			if !sel && q.dl[tok*4+m] != 0 {
				t.Errorf("token %d, unselected block %d: dℓ %v, want 0", tok, m, q.dl[tok*4+m])
			}
		}
	}
	if q.DC[3] != 0 || numtest.MaxAbs(q.DG[12:16]) != 0 {
		t.Errorf("the never-selected subspace 3 got gradient: dc %v, dG row %v", q.DC[3], q.DG[12:16])
	}
	if q.DC[0] == 0 && q.DC[1] == 0 && q.DC[2] == 0 {
		t.Error("no selected gate got a gradient")
	}
}

// Usage counts the routed gates: the mean of each subspace's gate over the tokens, zeros
// included. Tokens of TestTopKGateKeeps…: (¼, ¾, 0, 0) and (½, ½, 0, 0) ⇒ usage (⅜, ⅝, 0, 0);
// entropy ((−¼ ln ¼ − ¾ ln ¾) + ln 2)/2 = 0.6277411626.
func TestTopKGateUsageCountsTheRoutedGates(t *testing.T) {
	q := topkWith(t, 4, 2)
	var uc UsageCounter = q
	uc.CountUsage(true)
	q.Forward(make([]float32, 16), []float32{0, float32(math.Log(3)), -1, 0, 0, 0, 0, 0}, 2)
	mean, tokens := uc.Usage()
	want := []float64{3.0 / 8, 5.0 / 8, 0, 0}
	for m := range want {
		if tokens != 2 || math.Abs(mean[m]-want[m]) > numtest.F32 {
			t.Fatalf("usage %v over %d tokens, want %v over 2", mean, tokens, want)
		}
	}
	if e, _ := uc.Entropy(); math.Abs(e-0.6277411626) > numtest.F32 {
		t.Errorf("entropy %v, want 0.6277411626", e)
	}
}

func TestTopKSettingIsValidatedNamingItsField(t *testing.T) {
	for _, s := range []Shape{{R: 4, K: 2, TopK: 3}, {R: 4, K: 2, TopK: -1}, {R: 4, K: 1, TopK: 2}} {
		_, err := New(GatedTopKName, s)
		if err == nil || !strings.Contains(err.Error(), `"moslora_top_k"`) {
			t.Errorf("%+v: want an error naming moslora_top_k, got %v", s, err)
		}
	}
	mx, err := New(GatedTopKName, Shape{R: 8, In: 3, K: 4})
	if err != nil || mx.(*TopK).Top != DefaultTopK {
		t.Fatalf("k not set: %v, want the default %d (%v)", mx, DefaultTopK, err)
	}
	if mx, err := New(GatedTopKName, Shape{R: 4, In: 3, K: 1}); err != nil || mx.(*TopK).Top != 1 {
		t.Errorf("k not set, K = 1: %v (%v), want k = K = 1", mx, err)
	}
	if _, err := New(GatedName, Shape{R: 4, In: 3, K: 2, TopK: 5}); err != nil {
		t.Errorf("moslora_top_k on the gated mixer (ignored there) was refused: %v", err)
	}
}

// Init draws G ~ N(0, 0.02²) (MixLoRA's router) from the generator and leaves c at 0.
func TestTopKInitDrawsARandomRouter(t *testing.T) {
	mx, _ := New(GatedTopKName, Shape{R: 8, In: 500, K: 4})
	mx.Init(rand.New(rand.NewPCG(1, 2)))
	q := mx.(*TopK)
	var ss float64
	for _, v := range q.G {
		ss += float64(v) * float64(v)
	}
	std := math.Sqrt(ss / float64(len(q.G)))
	if math.Abs(std-RouterInitStd) > 0.1*RouterInitStd {
		t.Errorf("std of G = %v, want about %v", std, RouterInitStd)
	}
	for _, c := range q.C {
		if c != 0 {
			t.Fatalf("c = %v, want 0", q.C)
		}
	}
	again, _ := New(GatedTopKName, Shape{R: 8, In: 500, K: 4})
	again.Init(rand.New(rand.NewPCG(1, 2)))
	if !numtest.SameBits(again.(*TopK).G, q.G) {
		t.Error("Init is not a function of the generator")
	}
}

// With k = 1 each token's one gate is exactly 1, so the router gets no gradient at all (why
// train warns about --top-k 1), while the selected block still passes dz through to dh.
func TestTopKWithKOfOneGivesTheRouterNoGradient(t *testing.T) {
	q := topkWith(t, 4, 1)
	x := []float32{0.3, -0.2, 0.1, 0.5, -0.4, 0.2, 0.6, 0.1}
	h, dz := make([]float32, 16), make([]float32, 16)
	for i := range h {
		h[i], dz[i] = float32(i%5)-2, float32(i%3)-0.5
	}
	q.Forward(h, x, 2)
	dh, _ := q.Backward(dz, h, x, 2)
	if numtest.MaxAbs(q.DG) != 0 || numtest.MaxAbs(q.DC) != 0 {
		t.Errorf("k = 1: router gradient dG %v, dc %v; want 0", q.DG, q.DC)
	}
	// token 0 routes to block 3 (x = 0.5), token 1 to block 2 (x = 0.6): dh = dz there, 0 elsewhere
	for i := range dh {
		tok, blk := i/8, (i%8)/2
		want := float32(0)
		if blk == []int{3, 2}[tok] {
			want = dz[i]
		}
		if dh[i] != want {
			t.Errorf("dh[%d] = %v, want %v", i, dh[i], want)
		}
	}
}
