// Package adapter owns low-rank adapters on the frozen linear layers of a model: plain LoRA, MoSLoRA
// (a dense r×r mixer) and the two mixture mixers (global and input-gated block weights), their
// initialisation, forward and backward passes, the PEFT adapter files, folding and merging.
//
// One adapter on a linear layer y = x·Wᵀ + b adds
//
//	y += s · mix(A·x̃, x) · Bᵀ      A: (r, in)  B: (out, r)  x̃ = dropout(x)
//	s = lora_alpha / r   (or lora_alpha / √r with use_rslora)
//
// where the mixer works in the r-dimensional latent space h = A·x̃, split into K blocks of r/K:
//
//	identity  mix = h                              (LoRA)
//	dense     mix = M·h, M: (r, r)                 (MoSLoRA; M is lora_AB.weight, an nn.Linear(r, r))
//	global    mix_k = w_k·h_k, w = softmax(π)      π: (K)
//	gated     mix_k = g_k(x)·h_k, g = softmax(G·x + c)  G: (K, in), c: (K); the gate sees the undropped x
//	folded    mix = h, with A ← M·A at initialisation   (control: MoSLoRA's initial M folded into A, frozen)
//	gated-topk  as gated, g = softmax over the moslora_top_k largest logits, 0 elsewhere (MixLoRA routing)
//
// A Linear owns A, B, dropout and the scale; its Mixer (package adapter/mixer: one type per file
// behind one interface, one table of mixers and the training methods that select them) owns
// everything between A and B — forward, backward, its folded r×r matrix, its tensors and their
// keys, its initialisation and config fields. Nothing in this package names a mixer: Fold, Merge,
// Save and Load ask the Mixer. A mixer added with mixer.Register trains, saves, loads, folds and
// merges with no change here.
//
// A Linear is the model's Delta (model.Delta): the model asks it for its extra low-rank term as
// data (ForwardTerm: s·z·Bᵀ; BackwardTerms: dh·A, the gate's dℓ·G, with dropout (dh·A) ⊙ mask) and
// adds it inside the base layer's own GEMM. Forward and Backward apply the same terms as separate
// products (the reference the fused path is tested against).
//
// # Files
//
// An adapter directory holds adapter_config.json (PEFT's LoraConfig names, see Config) and
// adapter_model.safetensors (float32) with, for each adapted module path P:
//
//	base_model.model.P.lora_A.weight       (r, in)
//	base_model.model.P.lora_B.weight       (out, r)
//	base_model.model.P.lora_AB.weight      (r, r)     dense mixer, as the official MoSLoRA code names it
//	base_model.model.P.lora_global.weight  (K)        global mixer logits π (our name)
//	base_model.model.P.lora_gate.weight    (K, in)    gated (and gated-topk) mixer G (our name)
//	base_model.model.P.lora_gate.bias      (K)        gated (and gated-topk) mixer c (our name)
//
// A dense or global adapter folds (A' = M·A) into a plain PEFT LoRA adapter with the same ΔW.
// Params lists every tensor with a Group (lora_A, lora_B, mixer) for per-group optimizer
// settings; a tensor with a nil gradient is frozen and not trained.
//
// # Invariants
//
//   - The base model's weights are never modified except by Merge / Unmerge.
//   - With B = 0 an adapter adds exactly nothing: the adapted model's outputs equal the base's.
//   - Loading is strict: a missing, unexpected or mis-shaped tensor is an error naming the key.
//   - Initialisation and dropout masks are deterministic functions of the seed and module path.
//   - Extend (extend.go) keeps the old adapter's update as a term of its own: with the new B = 0
//     the extended adapter's outputs equal the old one's, and Param.Train leaves every old entry
//     out of training.
//   - A Linear is not safe for concurrent use: Forward keeps the activations its Backward needs.
package adapter
