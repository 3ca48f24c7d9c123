package adapter

import (
	"fmt"
	"math"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/model"
)

// unfused hands the model the Linear's terms with an all-ones mask, which the model computes as
// separate products instead of folding them into the base layer's GEMM.
type unfused struct{ l *Linear }

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func (u unfused) ForwardTerm(x []float32, n int) model.Term {
	t := u.l.ForwardTerm(x, n)
	t.Mask = ones(n * u.l.Out)
	return t
}

func (u unfused) BackwardTerms(dy, x []float32, n int) []model.Term {
	ts := append([]model.Term(nil), u.l.BackwardTerms(dy, x, n)...)
	for i := range ts {
		if ts[i].Mask == nil {
			ts[i].Mask = ones(n * u.l.In)
		}
	}
	return ts
}

// TestFusedPathMatchesUnfused runs the same training step with the update folded into the base
// layers' GEMMs (gemm.SgemmSum, the default) and as separate products (masked terms),
// for every mixer, with and without dropout: the loss and every adapter gradient must agree to
// float32 summation-order differences.
func TestFusedPathMatchesUnfused(t *testing.T) {
	for _, family := range []string{"llama", "gpt2"} {
		m, ref := loadModelAndLoRAReference(t, family)
		for _, js := range []string{``, `, "lora_use_mixer": true`, `, "moslora_mixer": "global", "moslora_subspaces": 2`, `, "moslora_mixer": "gated", "moslora_subspaces": 4`} {
			for _, dropout := range []float64{0, 0.3} {
				name := fmt.Sprintf("%s%s dropout=%v", family, js, dropout)
				c := mustParse(t, fmt.Sprintf(`{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "lora_dropout": %v, "target_modules": "all-linear"%s}`, dropout, js))
				a, err := New(c, m, 11)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				randomize(a, 12)
				a.SetTraining(true)
				step := func(plain bool) (float64, [][]float32) {
					for i, l := range a.Linears {
						l.rng = nil // the same dropout masks in both runs
						a.bases[i].Delta = l
						if plain {
							a.bases[i].Delta = unfused{l}
						}
					}
					a.ZeroGrad()
					loss, err := m.ForwardBackward(ref.ids, ref.label, ref.B, ref.T)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					var gs [][]float32
					for _, p := range a.Params() {
						gs = append(gs, append([]float32(nil), p.G...))
					}
					return loss, gs
				}
				lf, gf := step(false)
				lp, gp := step(true)
				if e := math.Abs(lf-lp) / math.Abs(lp); e > numtest.F32 {
					t.Errorf("%s: loss fused %.9g, plain %.9g", name, lf, lp)
				}
				worst := 0.0
				for i := range gp {
					worst = max(worst, numtest.RelL2(gf[i], gp[i]))
				}
				if worst > numtest.F32 || math.IsNaN(worst) {
					t.Errorf("%s: worst gradient rel L2 difference %.3g", name, worst)
				}
				for i, l := range a.Linears {
					a.bases[i].Delta = l
				}
				a.Detach()
			}
		}
	}
}
