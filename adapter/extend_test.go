package adapter

import (
	"errors"
	"math"
	"testing"
)

func TestExtendConfigKeepsTheScalingExactly(t *testing.T) {
	f64 := 0
	total := 0
	for _, rslora := range []bool{false, true} {
		for _, alpha := range []float64{1, 2, 7, 8, 16, 32, 0.5, 3.3, 1e-3, 64, 12.7} {
			for r := 1; r <= 64; r++ {
				for _, extra := range []int{1, 2, 3, 4, 7, 8, 16, 24, 64} {
					old := DefaultConfig()
					old.R, old.LoraAlpha, old.UseRSLoRA = r, alpha, rslora
					c, err := ExtendConfig(old, extra)
					if err != nil {
						t.Fatalf("alpha %v r %d +%d rslora %v: %v", alpha, r, extra, rslora, err)
					}
					if c.R != r+extra {
						t.Fatalf("r %d + %d gave r %d", r, extra, c.R)
					}
					if got, want := c.Scaling(c.R, c.LoraAlpha), old.Scaling(r, alpha); got != want {
						t.Fatalf("alpha %v r %d +%d rslora %v: float32 scaling %v, want %v", alpha, r, extra, rslora, got, want)
					}
					// PEFT's float64 scaling (lora_alpha / r or / √r), as Python computes it: equal
					// for integer alphas at power-of-two ranks (alpha/r exact); otherwise the float64 quotient may have
					// no exact preimage near alpha·r'/r, and the float32 scaling is what both PEFT's
					// float32 tensors and ours are multiplied by.
					d := func(a float64, n int) float64 {
						if rslora {
							return a / math.Sqrt(float64(n))
						}
						return a / float64(n)
					}
					total++
					if d(c.LoraAlpha, c.R) == d(alpha, r) {
						f64++
					} else if !rslora && alpha == math.Trunc(alpha) && r&(r-1) == 0 {
						t.Errorf("alpha %v r %d +%d: float64 scaling %v, want %v", alpha, r, extra, d(c.LoraAlpha, c.R), d(alpha, r))
					}
				}
			}
		}
	}
	t.Logf("float64 scaling equal in %d of %d cases (float32 in all)", f64, total)
}

func TestExtendConfigRefusesPerModulePatterns(t *testing.T) {
	old := DefaultConfig()
	old.RankPattern = map[string]int{"q_proj": 4}
	if _, err := ExtendConfig(old, 4); err == nil {
		t.Fatal("an adapter with rank_pattern was extended")
	}
}

// extended returns an old adapter of rank 4 (every tensor random, as after training) on a fresh
// base and its extension by extra, attached to a second base with the same weights.
func extended(t *testing.T, js string, extra int) (old, ext *Adapter) {
	t.Helper()
	c := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "down_proj"]`+js+`}`)
	old, err := New(c, llamaLikeBase(3), 5)
	if err != nil {
		t.Fatal(err)
	}
	randomize(old, 7)
	old.Detach()
	ext, err = Extend(old, llamaLikeBase(3), extra, 11)
	if err != nil {
		t.Fatal(err)
	}
	return old, ext
}

func TestExtendPutsTheOldTensorsFirstAndStartsTheNewBAtZero(t *testing.T) {
	for _, js := range []string{``, `, "lora_use_mixer": true`} {
		old, ext := extended(t, js, 3)
		if ext.Config.R != 7 || ext.Config.LoraAlpha != 14 {
			t.Fatalf("%s: r %d alpha %v, want 7 and 14", js, ext.Config.R, ext.Config.LoraAlpha)
		}
		for i, l := range ext.Linears {
			o := old.Linears[i]
			if l.Frozen != 4 || l.Scale != o.Scale {
				t.Fatalf("%s: frozen %d scale %v, want 4 and %v", l.Path, l.Frozen, l.Scale, o.Scale)
			}
			if !slicesEqualBits(l.A[:4*l.In], o.A) {
				t.Errorf("%s: A's first rows are not the old A", l.Path)
			}
			if allZero(l.A[4*l.In:]) {
				t.Errorf("%s: A's new rows are zero, want a fresh initialisation", l.Path)
			}
			for row := 0; row < l.Out; row++ {
				if !slicesEqualBits(l.B[row*7:row*7+4], o.B[row*4:row*4+4]) || !allZero(l.B[row*7+4:row*7+7]) {
					t.Fatalf("%s: B row %d is %v, want the old %v then zeros", l.Path, row, l.B[row*7:row*7+7], o.B[row*4:row*4+4])
				}
			}
			m, _ := l.MixMatrix()
			om, _ := o.MixMatrix()
			for p := 0; p < 7; p++ {
				for q := 0; q < 7; q++ {
					v := m[p*7+q]
					switch {
					case p < 4 && q < 4:
						if math.Float32bits(v) != math.Float32bits(om[p*4+q]) {
							t.Fatalf("%s: M[%d,%d] = %v, want the old %v", l.Path, p, q, v, om[p*4+q])
						}
					case p < 4 || q < 4:
						if v != 0 {
							t.Fatalf("%s: off-diagonal M[%d,%d] = %v, want 0", l.Path, p, q, v)
						}
					}
				}
			}
		}
	}
}

func TestExtendedAdapterComputesTheOldUpdatePlusTheNewTerm(t *testing.T) {
	old, ext := extended(t, `, "lora_use_mixer": true`, 3)
	for _, p := range ext.Params() { // train the new part: random values in its spans only
		for k, s := range p.Train {
			for i := s.Lo; i < s.Hi; i++ {
				p.W[i] = float32(math.Sin(float64(i+k))) * 0.3
			}
		}
	}
	for i, l := range ext.Linears {
		o := old.Linears[i]
		dw, _ := l.DeltaW()
		odw, _ := o.DeltaW()
		// The new term alone: zero the old B columns of a copy.
		nb := append([]float32(nil), l.B...)
		for row := 0; row < l.Out; row++ {
			clear(nb[row*7 : row*7+4])
		}
		saved := l.B
		l.B = nb
		ndw, _ := l.DeltaW()
		l.B = saved
		for j := range dw {
			if d := math.Abs(float64(dw[j] - odw[j] - ndw[j])); d > 1e-5*(1+math.Abs(float64(dw[j]))) {
				t.Fatalf("%s: ΔW[%d] = %v, old %v + new %v", l.Path, j, dw[j], odw[j], ndw[j])
			}
		}
	}
}

func TestTrainSpansCoverExactlyTheNewPart(t *testing.T) {
	_, ext := extended(t, `, "lora_use_mixer": true`, 3)
	l := ext.Linears[0]
	var a, b, m int
	for _, p := range l.params() {
		n := 0
		for _, s := range p.Train {
			n += s.Hi - s.Lo
		}
		switch p.Group {
		case GroupA:
			a = n
		case GroupB:
			b = n
		default:
			m = n
		}
	}
	if a != 3*l.In || b != 3*l.Out || m != 9 {
		t.Fatalf("trainable A %d B %d mixer %d, want %d, %d, 9", a, b, m, 3*l.In, 3*l.Out)
	}
	if got, want := ext.NumTrainable(), sumNew(ext); got != want {
		t.Fatalf("NumTrainable %d, want %d", got, want)
	}
}

// sumNew counts the new part of every Linear: 3 rows of A, 3 columns of B, the 3×3 mixer block.
func sumNew(a *Adapter) int {
	n := 0
	for _, l := range a.Linears {
		n += 3*l.In + 3*l.Out + 9
	}
	return n
}

func TestExtendRefusesMixersThatCoupleSubspaces(t *testing.T) {
	for _, js := range []string{`, "moslora_mixer": "global", "moslora_subspaces": 2`, `, "moslora_mixer": "gated", "moslora_subspaces": 2`} {
		c := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]`+js+`}`)
		old, err := New(c, llamaLikeBase(3), 5)
		if err != nil {
			t.Fatal(err)
		}
		old.Detach()
		if _, err := Extend(old, llamaLikeBase(3), 2, 1); !errors.Is(err, ErrNotExtendable) {
			t.Errorf("%s: extending gave %v, want ErrNotExtendable", js, err)
		}
		if a, err := Extend(old, llamaLikeBase(3), 0, 1); err != nil || a.NumTrainable() != old.NumParams() {
			t.Errorf("%s: extend-rank 0 (train it all) gave %v", js, err)
		}
	}
}

func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
