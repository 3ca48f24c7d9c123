// Package mixer owns what sits between an adapter's down projection A and its up projection B:
// the mixer z = mix(h, x) of the latent rows h = x̃·Aᵀ (n, r), the one idea MoSLoRA adds to LoRA.
//
//	identity  mix = h                                    (LoRA)
//	dense     mix = h·Mᵀ, M: (r, r)                      (MoSLoRA; M is lora_AB.weight)
//	global    mix_k = w_k·h_k, w = softmax(π), π: (K)     (blocks of r/K)
//	gated     mix_k = g_k(x)·h_k, g = softmax(G·x + c)   G: (K, in), c: (K); x is the undropped input
//	folded    mix = h, after A ← M·A once at Init        (control: MoSLoRA's initial M folded, frozen)
//	gated-topk  as gated, with g = softmax over the k largest logits, 0 elsewhere   (MixLoRA routing)
//
// Each mixer is one type in one file implementing Mixer — forward, backward, the folded r×r
// matrix when one exists (merge, fold, export), its tensors with their adapter-file key names, its
// initialisation — in the manner of PEFT's LoraVariant. Which mixers exist, the training method
// that selects each and the adapter_config.json fields each reads are the rows of one table
// (table.go); Register adds a row from outside the package, so a new mixer is one file and one row.
// Validation happens once, in New.
//
// # Invariants
//
//   - A mixer never sees A, B, the scale or dropout: it maps h to z and dz to dh (and, when it reads
//     the input, returns the extra input-gradient product as data); the adapter does the rest.
//   - Gradients accumulate (+=) into the G of each Param. A mixer that freezes a tensor lists it
//     with a nil G and does not accumulate into it; trainers skip it.
//   - Forward keeps what Backward needs; a Mixer is not safe for concurrent use.
//   - Matrix, when ok, is the exact linear map of Forward: mix(h) = h·Mᵀ for every h.
//   - Initialisation is a deterministic function of the generator passed to Init.
package mixer
