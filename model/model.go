package model

import "github.com/moslora/moslora/kernels/gemm"

// Param is one trainable base tensor, named by its checkpoint key. W and DW alias the model's own
// storage (DW is nil until EnableFullGrads). Shape is the in-memory shape; Conv1D marks a GPT-2
// weight held (out, in) in memory but stored (in, out) in the checkpoint, so a writer must
// transpose it back.
type Param struct {
	Name   string
	W, DW  []float32
	Frozen gemm.Weights // bf16, f16 or Q8_0 storage instead of W (frozen embedding, LM head, linear weight)
	Shape  []int
	Conv1D bool
}

// Norm is an RMSNorm (B nil) or a LayerNorm (with bias B). An RMSNorm with Offset ≠ 0 scales by
// (Offset + W) rather than W (Gemma: 1 + w); W itself stays the checkpoint's tensor.
type Norm struct {
	W, B   *Param // (C), or (D) for the per-head q/k norms
	Layer  bool   // LayerNorm (mean-centred) instead of RMSNorm
	Offset float32
	Eps    float32
	Prefix string // module path, e.g. "model.layers.0.input_layernorm"
}

// Block is one decoder layer. Llama family: Q, K, V, O and Gate, Up, Down. GPT-2: QKV (c_attn,
// out = 3C, the fused projection PEFT targets as one module), O (attn.c_proj), Up (mlp.c_fc),
// Down (mlp.c_proj); Q, K, V and Gate are nil.
//
// Optional norms (nil when the layout has none): QNorm, KNorm, the per-head RMSNorms of q and k
// before RoPE (Qwen3, Gemma 3); PostAttn and PostFF, the norms of the attention and MLP outputs
// before their residual adds (Gemma 3, whose Norm2 is the pre-feed-forward norm).
type Block struct {
	Norm1, Norm2     Norm
	QNorm, KNorm     *Norm
	PostAttn, PostFF *Norm
	Q, K, V, QKV, O  *Linear
	Gate, Up, Down   *Linear
	attnScale        float32 // 1/sqrt(D) (GPT-2: also / (layer+1); Gemma 3: query_pre_attn_scalar^-½)
	window           int     // sliding attention window, 0 = full causal
	rope             int     // index of the block's rotary table in Model.ropeInv
}

// Model is a loaded decoder model with f32 weights. It holds activation buffers for the last
// (batch, seq) shape, so a Model is not safe for concurrent use.
type Model struct {
	Config *Config
	Embed  *Param  // (V, C) token embedding
	Pos    *Param  // (P, C) learned positions, GPT-2 only (nil otherwise)
	Blocks []Block // (L)
	Final  Norm    // final norm (model.norm / transformer.ln_f)
	LMHead *Param  // (V, C); == Embed when the embeddings are tied

	lay     layout      // what the family changes in the passes, chosen at load
	ropeInv [][]float32 // per rotary setting (global, sliding): (D/2) inverse frequencies
	acts    *acts       // buffers for the last (batch, seq) shape
	grads   bool        // EnableFullGrads was called

	recompute bool    // SetRecompute: keep only each block's input for the backward pass
	compute   Compute // SetCompute: arithmetic of the products with the frozen base ("": f32)
}

// Linears lists every linear layer of the decoder blocks in checkpoint order (block by block;
// attention then MLP; q, k, v, o and gate, up, down; GPT-2: c_attn, attn.c_proj, c_fc,
// mlp.c_proj). The LM head is not included.
func (m *Model) Linears() []*Linear {
	var out []*Linear
	for i := range m.Blocks {
		b := &m.Blocks[i]
		for _, l := range []*Linear{b.Q, b.K, b.V, b.QKV, b.O, b.Gate, b.Up, b.Down} {
			if l != nil {
				out = append(out, l)
			}
		}
	}
	return out
}

// Linear returns the linear layer with the given module path, or nil.
func (m *Model) Linear(path string) *Linear {
	for _, l := range m.Linears() {
		if l.Path == path {
			return l
		}
	}
	return nil
}

// Params lists every base tensor by its checkpoint name, in checkpoint order: embeddings, then
// each block's norms and linear weights and biases, the final norm and the untied LM head. DW is
// nil unless EnableFullGrads was called.
func (m *Model) Params() []Param {
	var out []Param
	out = append(out, *m.Embed)
	if m.Pos != nil {
		out = append(out, *m.Pos)
	}
	norm := func(n *Norm) {
		out = append(out, *n.W)
		if n.B != nil {
			out = append(out, *n.B)
		}
	}
	for i := range m.Blocks {
		b := &m.Blocks[i]
		norm(&b.Norm1)
		for _, l := range []*Linear{b.Q, b.K, b.V, b.QKV, b.O} {
			if l != nil {
				out = append(out, linearParams(l)...)
			}
		}
		for _, n := range b.optionalNorms() {
			norm(n)
		}
		norm(&b.Norm2)
		for _, l := range []*Linear{b.Gate, b.Up, b.Down} {
			if l != nil {
				out = append(out, linearParams(l)...)
			}
		}
	}
	norm(&m.Final)
	if m.LMHead != m.Embed {
		out = append(out, *m.LMHead)
	}
	return out
}

func linearParams(l *Linear) []Param {
	ps := []Param{{Name: l.Path + ".weight", W: l.W, Frozen: l.Frozen, DW: l.DW, Shape: []int{l.Out, l.In}, Conv1D: l.Conv1D}}
	if l.Bias != nil {
		ps = append(ps, Param{Name: l.Path + ".bias", W: l.Bias, DW: l.DBias, Shape: []int{l.Out}})
	}
	return ps
}

// NumParams is the number of base parameters (tied tensors counted once).
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += len(p.W) + p.Frozen.Len()
	}
	return n
}

// EnableFullGrads allocates a gradient for every base parameter (full fine-tuning): linear weights
// and biases, embeddings, positions, norms and the untied LM head. Idempotent.
func (m *Model) EnableFullGrads() {
	if m.grads {
		return
	}
	m.grads = true
	m.Widen() // trained weights are float32 masters
	alloc := func(p *Param) {
		if p != nil && p.DW == nil {
			p.DW = make([]float32, len(p.W))
		}
	}
	alloc(m.Embed)
	alloc(m.Pos)
	alloc(m.LMHead)
	alloc(m.Final.W)
	alloc(m.Final.B)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		alloc(b.Norm1.W)
		alloc(b.Norm1.B)
		alloc(b.Norm2.W)
		alloc(b.Norm2.B)
		for _, n := range b.optionalNorms() {
			alloc(n.W)
		}
	}
	for _, l := range m.Linears() {
		if l.DW == nil {
			l.DW = make([]float32, len(l.W))
		}
		if l.Bias != nil && l.DBias == nil {
			l.DBias = make([]float32, len(l.Bias))
		}
	}
}

// ZeroGrads sets every allocated base gradient to zero (adapter gradients are the adapter's),
// large tensors in parallel pieces.
func (m *Model) ZeroGrads() {
	for _, p := range m.Params() {
		parallelRange(len(p.DW), 4*actGrain, func(lo, hi int) { clear(p.DW[lo:hi]) })
	}
}

// optionalNorms lists the block's q/k and post norms that exist, in checkpoint order.
func (b *Block) optionalNorms() []*Norm {
	var out []*Norm
	for _, n := range []*Norm{b.QNorm, b.KNorm, b.PostAttn, b.PostFF} {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}
