package adapter

import (
	"fmt"
	"math"
)

// errGated explains why a gated adapter can neither fold nor merge.
func errGated(op, path string) error {
	return fmt.Errorf("adapter: cannot %s %s: the gated mixer weighs the subspaces by softmax(G·x + c) "+
		"per token, so ΔW depends on the input and is not a fixed matrix; keep the adapter unmerged", op, path)
}

// Fold turns a dense or global mixer into a plain LoRA adapter with the identical update:
// A' = M·A (M = lora_AB, or blockdiag(softmax(π)_k·I)), ΔW = s·B·A' = s·B·M·A. The result is a
// stock PEFT LoRA adapter (no lora_AB, lora_use_mixer false) that PEFT, vLLM and llama.cpp load.
// An identity adapter is unchanged; a gated adapter is an error. Gradients of the mixer are
// dropped (folding is for deployment, not for further training of the mixer).
func (a *Adapter) Fold() error {
	for _, l := range a.Linears {
		if l.Mixer == MixerGated {
			return errGated("fold", l.Path)
		}
	}
	for _, l := range a.Linears {
		if l.Mixer == MixerIdentity {
			continue
		}
		fa, _ := l.FoldedA()
		copy(l.A, fa)
		l.Mixer, l.K = MixerIdentity, 1
		l.M, l.DM, l.Pi, l.DPi, l.w = nil, nil, nil, nil, nil
		l.z = nil // z was mix(h); with the identity mixer it aliases h again
	}
	a.Config.Mixer, a.Config.LoraUseMixer, a.Config.MixerInit, a.Config.Subspaces = "", false, "", 0
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
	for _, l := range a.Linears {
		if l.Mixer == MixerGated {
			return errGated("merge", l.Path)
		}
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
