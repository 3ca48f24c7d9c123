package adapter

import (
	"fmt"
	"math"

	"github.com/moslora/moslora/adapter/mixer"
)

// errNoMatrix explains why an adapter whose mixer has no fixed matrix (gated) can neither fold
// nor merge.
func errNoMatrix(op string, l *Linear) error {
	return fmt.Errorf("adapter: cannot %s %s: the %s mixer depends on the input (the gated mixer weighs the "+
		"subspaces by softmax(G·x + c) per token), so ΔW is not a fixed matrix; keep the adapter unmerged",
		op, l.Path, l.Mixer.Name())
}

// CheckFixed returns an error naming the first module whose mixer has no fixed r×r matrix, so that
// the adapter can neither fold nor merge (op names the operation for the message), or nil.
func (a *Adapter) CheckFixed(op string) error {
	for _, l := range a.Linears {
		if _, ok := l.Mixer.Matrix(); !ok {
			return errNoMatrix(op, l)
		}
	}
	return nil
}

// Fold turns a dense or global mixer into a plain LoRA adapter with the identical update:
// A' = M·A (M = lora_AB, or blockdiag(softmax(π)_k·I)), ΔW = s·B·A' = s·B·M·A. The result is a
// stock PEFT LoRA adapter (no lora_AB, lora_use_mixer false) that PEFT, vLLM and llama.cpp load.
// An identity adapter is unchanged; a mixer with no fixed matrix (gated) is an error. Gradients of the mixer are
// dropped (folding is for deployment, not for further training of the mixer).
func (a *Adapter) Fold() error {
	if err := a.CheckFixed("fold"); err != nil {
		return err
	}
	plain := mixer.Plain().Name
	for _, l := range a.Linears {
		if l.Mixer.Name() == plain {
			continue
		}
		fa, _ := l.FoldedA()
		copy(l.A, fa)
		l.Mixer, _ = mixer.New(plain, mixer.Shape{R: l.R, In: l.In})
		l.K, l.z = 1, nil
	}
	a.Config.Mixer, a.Config.LoraUseMixer, a.Config.MixerInit, a.Config.Subspaces, a.Config.TopK = "", false, "", 0, 0
	return nil
}

// Merge adds ΔW = s·B·M·A into each base weight W (Out, In) and detaches the adapter, so the model
// runs with no adapter overhead. GPT-2 Conv1D weights are held (Out, In) in memory, so no
// transpose is needed. Every ΔW is checked before any weight changes: a non-finite ΔW is an error
// naming the module and nothing is merged. A gated adapter cannot merge (see errGated).
func (a *Adapter) Merge() error {
	if a.merged {
		return fmt.Errorf("adapter: already merged")
	}
	if err := a.CheckFixed("merge"); err != nil {
		return err
	}
	for _, l := range a.Linears { // validate all before committing any
		dw, _ := l.DeltaW()
		if i := nonFinite(dw); i >= 0 {
			return fmt.Errorf("adapter: cannot merge %s: ΔW[%d, %d] = %v is not finite", l.Path, i/l.In, i%l.In, dw[i])
		}
	}
	a.Detach()
	for i, l := range a.Linears {
		dw, _ := l.DeltaW()
		a.bases[i].Widen() // a bf16-held base weight becomes float32: W + ΔW is not bf16
		w := a.bases[i].W
		for j, d := range dw {
			w[j] += d
		}
	}
	a.merged = true
	return nil
}

// Unmerge subtracts ΔW from the base weights and re-attaches the adapter. The base weights come
// back up to float32 rounding of W + ΔW − ΔW.
func (a *Adapter) Unmerge() error {
	if !a.merged {
		return fmt.Errorf("adapter: not merged")
	}
	for i, l := range a.Linears {
		dw, _ := l.DeltaW()
		w := a.bases[i].W
		for j, d := range dw {
			w[j] -= d
		}
	}
	a.merged = false
	return a.Attach()
}

// nonFinite returns the index of the first NaN or ±Inf in v, or -1.
func nonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}
