package model

import "github.com/moslora/moslora/kernels"

// layout is everything that distinguishes the model families inside the passes, as data chosen
// once at load (layoutOf): the decoder block, its backward, the KV-cached path and the buffer
// sizing read it and never ask for a family. A new family describes itself here (and in the
// weights skeleton.go/load.go fill) rather than adding branches to each pass; its per-layer
// data (attention scale, sliding window) lives in Block.
type layout struct {
	fusedQKV bool   // q, k, v come from one projection (GPT-2 c_attn, (N, 3C), read in place); else Q, K, V
	gatedMLP bool   // h = act(Gate·x, Up·x) (Llama SwiGLU); else h = act(Up·x) (GPT-2 c_fc)
	rope     bool   // rotary positions on q and k; else learned positions added to the embeddings
	act      mlpAct // the MLP activation

	qkNorm     bool    // q and k are projected into qRaw, kRaw, then per-head normed (Block.QNorm, KNorm)
	postNorms  bool    // attention and MLP outputs are normed before their residual adds (PostAttn, PostFF)
	embedScale float32 // the embeddings are multiplied by this (1: unscaled)
	logitCap   float32 // logits = cap·tanh(logits/cap) (0: none)
	attnCap    float32 // attention scores = cap·tanh(scores/cap) before the softmax (0: none)
}

// mlpAct is the MLP activation over n elements: h = act(a) or, gated, h = act(a, u).
type mlpAct struct {
	forward  func(h, a, u []float32, n int)
	backward func(da, du, dh, a, u []float32, n int) // adds into da (and du when gated)
}

// layoutOf describes cfg's family.
func layoutOf(c *Config) layout {
	if c.Family == FamilyGPT2 {
		act := mlpAct{
			forward:  func(h, a, _ []float32, n int) { kernels.GELUTanhForward(h, a, n) },
			backward: func(da, _, dh, a, _ []float32, n int) { kernels.GELUTanhBackward(da, dh, a, n) },
		}
		if c.Act == "gelu" {
			act = mlpAct{
				forward:  func(h, a, _ []float32, n int) { kernels.GELUErfForward(h, a, n) },
				backward: func(da, _, dh, a, _ []float32, n int) { kernels.GELUErfBackward(da, dh, a, n) },
			}
		}
		return layout{fusedQKV: true, act: act, embedScale: 1}
	}
	act := mlpAct{forward: kernels.SwiGLUForward, backward: kernels.SwiGLUBackward}
	if c.Act == "gelu_pytorch_tanh" {
		act = mlpAct{forward: kernels.GELUTanhGatedForward, backward: kernels.GELUTanhGatedBackward}
	}
	return layout{gatedMLP: true, rope: true, act: act, qkNorm: c.QKNorm, postNorms: c.PostNorms,
		embedScale: c.EmbedScale, logitCap: float32(c.LogitCap), attnCap: float32(c.AttnCap)}
}
