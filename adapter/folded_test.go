package adapter

import (
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/adapter/mixer"
)

// The folded control starts from A' = M·A, where M and A are exactly what a MoSLoRA adapter of
// the same seed draws, owns no mixer tensor (nothing of it can be trained or saved), and its
// update is plain LoRA's with A'.
func TestFoldedControlStartsAtMoSLoRAsMTimesAAndHasNoTrainableMixer(t *testing.T) {
	b := llamaLikeBase(3)
	for _, init := range []string{"", InitOrthogonal} {
		dense := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "down_proj"], "lora_use_mixer": true}`)
		dense.MixerInit = init
		folded := dense
		folded.LoraUseMixer, folded.Mixer = false, mixer.FoldedName
		da, err := New(dense, b, 11)
		if err != nil {
			t.Fatal(err)
		}
		da.Detach()
		fa, err := New(folded, b, 11)
		if err != nil {
			t.Fatal(err)
		}
		fa.Detach()
		if len(fa.Linears) != 4 {
			t.Fatalf("%d adapted modules, want 4", len(fa.Linears))
		}
		for i, l := range fa.Linears {
			d := da.Linears[i]
			want, ok := d.FoldedA() // M·A of the MoSLoRA adapter, float64 accumulation
			if !ok {
				t.Fatal("dense mixer has no matrix")
			}
			if !slicesEqualBits(l.A, want) {
				t.Errorf("%s (init %q): A' differs from MoSLoRA's M·A", l.Path, init)
			}
			if slicesEqualBits(l.A, d.A) {
				t.Errorf("%s: A' equals the unfolded A: nothing was folded", l.Path)
			}
			if !slicesEqualBits(l.B, d.B) {
				t.Errorf("%s: B differs from MoSLoRA's", l.Path)
			}
			if ps := l.Mixer.Params(); len(ps) != 0 {
				t.Errorf("%s: the folded mixer lists %d tensors; want none (frozen, not saved)", l.Path, len(ps))
			}
			if m, ok := l.MixMatrix(); !ok || !slicesEqualBits(m, eye(l.R)) {
				t.Errorf("%s: folded mixer matrix %v, want I", l.Path, m)
			}
		}
		// Trainable parameters: exactly LoRA's r·(in+out) per module.
		want := 0
		for _, l := range fa.Linears {
			want += l.R * (l.In + l.Out)
		}
		if got := fa.NumParams(); got != want {
			t.Errorf("folded control has %d parameters, want LoRA's %d", got, want)
		}
	}
}

func eye(n int) []float32 {
	e := make([]float32, n*n)
	for i := 0; i < n; i++ {
		e[i*n+i] = 1
	}
	return e
}

// A saved folded-control adapter is plain LoRA tensors plus moslora_mixer "folded"; loading it
// gives back A' and B bit for bit and does not fold again.
func TestFoldedControlSavesAndLoadsWithoutFoldingAgain(t *testing.T) {
	b := llamaLikeBase(2)
	c := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "down_proj"], "moslora_mixer": "folded"}`)
	a, err := New(c, b, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range a.Linears {
		for i := range l.B {
			l.B[i] = float32(i%7) * 0.01
		}
	}
	dir := filepath.Join(t.TempDir(), "folded")
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	a.Detach()
	got, err := Load(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	got.Detach()
	if got.Config.MixerKind() != mixer.FoldedName {
		t.Errorf("loaded mixer %q, want folded", got.Config.MixerKind())
	}
	for i, l := range got.Linears {
		if !slicesEqualBits(l.A, a.Linears[i].A) || !slicesEqualBits(l.B, a.Linears[i].B) {
			t.Errorf("%s: A or B differs after a save/load round trip", l.Path)
		}
	}
}
