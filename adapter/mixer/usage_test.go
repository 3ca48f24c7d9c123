package mixer

import (
	"math"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
)

// Gate usage and entropy by hand: G = I (K = In = 2), c = 0. Token 1, x = (ln 3, 0): logits
// (ln 3, 0), gates (3/4, 1/4), entropy −(¾ ln ¾ + ¼ ln ¼) = 0.5623351446; token 2, x = 0: gates
// (½, ½), entropy ln 2. Means: usage (5/8, 3/8), entropy 0.6277411626.
func TestGateUsageAndEntropyByHand(t *testing.T) {
	mx, err := New(GatedName, Shape{R: 4, In: 2, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	var uc UsageCounter = mx.(*Gated) // the interface train logs through
	g := mx.(*Gated)
	g.G[0], g.G[3] = 1, 1
	uc.CountUsage(true)
	g.Forward(make([]float32, 2*4), []float32{float32(math.Log(3)), 0, 0, 0}, 2)
	mean, tokens := uc.Usage()
	if tokens != 2 || math.Abs(mean[0]-5.0/8) > numtest.F32 || math.Abs(mean[1]-3.0/8) > numtest.F32 {
		t.Errorf("usage %v over %d tokens, want [0.625 0.375] over 2", mean, tokens)
	}
	h1 := -(0.75*math.Log(0.75) + 0.25*math.Log(0.25))
	want := (h1 + math.Ln2) / 2
	if e, n := uc.Entropy(); n != 2 || math.Abs(e-want) > numtest.F32 || math.Abs(want-0.6277411626) > 1e-9 {
		t.Errorf("entropy %v over %d tokens, want %v over 2", e, n, want)
	}
	uc.CountUsage(true) // restarts from zero
	if e, n := uc.Entropy(); n != 0 || e != 0 {
		t.Errorf("after a restart: entropy %v over %d tokens, want nothing counted", e, n)
	}
	uc.CountUsage(false)
	g.Forward(make([]float32, 4), []float32{1, 2}, 1)
	if _, n := uc.Usage(); n != 0 {
		t.Errorf("counted %d tokens while off", n)
	}
}
