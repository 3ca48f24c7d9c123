package model

import "github.com/moslora/moslora/kernels/gemm"

// Linear is a (normally frozen) linear layer y = x·Wᵀ + b of a loaded model, named by its Hugging
// Face module path (e.g. "model.layers.0.self_attn.q_proj", "transformer.h.0.attn.c_attn").
// GPT-2 Conv1D weights, stored (in, out) in the checkpoint, are transposed on load so W is always
// (Out, In); Conv1D records that the checkpoint layout was transposed (PEFT's fan_in_fan_out).
type Linear struct {
	Path    string
	In, Out int
	W       []float32    // (Out, In); nil when the weight is held in Frozen
	Frozen  gemm.Weights // (Out, In) a frozen weight in bf16, f16 or Q8_0 (LoadOptions) instead of W
	Bias    []float32    // (Out), nil when the layer has no bias
	Conv1D  bool         // checkpoint stores W as (In, Out)
	Delta   Delta        // trainable update (adapter), nil for none
	DW      []float32    // (Out, In) weight gradient, nil = frozen (only allocated for full fine-tuning)
	DBias   []float32    // (Out) bias gradient, nil = frozen

	scratch []float32 // (n, In) product of a masked input-gradient term (training only)
	bf16    bool      // products with W on bfloat16-rounded inputs (Model.SetCompute)
}
