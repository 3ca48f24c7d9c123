package export

import (
	"fmt"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
)

// PEFT writes out as a stock PEFT LoRA adapter folder (adapter_config.json with only LoraConfig
// fields, adapter_model.safetensors with only lora_A / lora_B): a dense or global mixer is folded
// into A (A' = M·A, ΔW unchanged). The adapter a is folded in place (adapter.Fold): afterwards it
// is a plain LoRA adapter computing the same outputs. A gated adapter is an error.
func PEFT(out string, a *adapter.Adapter, force bool) error {
	if err := checkDest(out, force); err != nil {
		return err
	}
	for _, l := range a.Linears {
		if _, ok := l.MixMatrix(); !ok {
			return errGated("fold", l.Path)
		}
	}
	if err := a.Fold(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return writeDir(out, force, func(tmp string) error { return a.Save(tmp) })
}

// PEFTMoSLoRA writes out in the official MoSLoRA form: lora_A, lora_AB (the r×r mixer) and lora_B
// per module and "lora_use_mixer": true, which the official code loads. Only a dense mixer has
// this form; another mixer is an error that names the alternative.
func PEFTMoSLoRA(out string, a *adapter.Adapter, force bool) error {
	if err := checkDest(out, force); err != nil {
		return err
	}
	if k := a.Config.MixerKind(); k != mixer.Official().Name {
		return fmt.Errorf("export: the peft-moslora form stores a dense r×r mixer (lora_AB); this adapter's mixer is %q — use the peft form (folded plain LoRA) instead", k)
	}
	return writeDir(out, force, func(tmp string) error { return a.Save(tmp) })
}
