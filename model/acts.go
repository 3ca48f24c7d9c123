package model

// layerActs are the saved activations of one block (N = B·T rows).
type layerActs struct {
	ln1, ln2     []float32 // (N, C) norm outputs: inputs of the attention and MLP projections
	mean1, rstd1 []float32 // (N) norm statistics (mean only for LayerNorm)
	mean2, rstd2 []float32 // (N)
	q, k, v      []float32 // Llama: (N, H·D), (N, KV·D), (N, KV·D), q and k after rotation
	qRaw, kRaw   []float32 // q/k-norm layouts: the q and k projections before their norms
	qrstd, krstd []float32 // (N·H), (N·KV) per-head norm statistics of q and k
	o, dn        []float32 // post-norm layouts: (N, C) outputs of O and Down before their norms
	rstdO, rstdD []float32 // (N) their norm statistics
	att          []float32 // (B, H, T, T) attention probabilities; nil: recomputed (attnSaveBytes)
	qkv          []float32 // GPT-2: (N, 3C) fused c_attn output
	attY         []float32 // (N, H·D) attention output, input of o_proj / c_proj
	res2         []float32 // (N, C) residual after attention, input of the second norm
	a, u, h      []float32 // (N, I) gate (or c_fc) pre-activation, up (Llama), activation
}

// acts holds every activation and activation-gradient buffer for one (B, T) shape. Buffers grow
// to the largest shape seen and are resliced for smaller ones, so a training step allocates
// nothing after the first.
type acts struct {
	B, T, N   int
	res       [][]float32 // (L+1) × (N, C): res[0] embeddings, res[l+1] output of block l
	layers    []layerActs // (L) per block in training; inference uses layers[0] for every block
	lnf       []float32   // (N, C) final norm output
	meanf     []float32   // (N)
	rstdf     []float32   // (N)
	scratch   []float32   // (N, C) projection output before the residual add
	cos, sin  [][]float32 // per rotary setting: (T, D/2) tables for positions 0..T-1
	attP      [][]float32 // workers × (attnBlock, T) attention probabilities of one block of rows
	mid       [][]float32 // (L) × (N, C) with recomputation: each block's res2 (keepMid); nil otherwise
	useMid    bool        // a training pass with mid in use: block l's res2 is mid[l]
	ids       []int       // (N) token ids of the last forward
	trainable bool        // prepared for training: gradient buffers in use
	perBlock  bool        // every block keeps its own layerActs (training without recomputation)

	// Gradients (training only).
	dres  []float32   // (N, C) gradient of the residual stream
	dln   []float32   // (N, C) gradient of a norm output
	dq    []float32   // (N, H·D)   Llama
	dqRaw []float32   // (N, H·D)   q/k-norm layouts: gradients of the projections before the norms
	dkRaw []float32   // (N, KV·D)
	dpost []float32   // (N, C)     post-norm layouts: gradient of an O or Down output
	dk    []float32   // (N, KV·D)  Llama
	dv    []float32   // (N, KV·D)  Llama
	dqkv  []float32   // (N, 3C)    GPT-2
	dattY []float32   // (N, H·D)
	da    []float32   // (N, I)
	du    []float32   // (N, I)
	dh    []float32   // (N, I)
	dP    [][]float32 // workers × (attnBlock, T) attention scratch: dP of one block of rows
	attR  [][]float32 // workers × (attnBlock, T) raw scores of one block of rows (attention softcap)
	dlnf  []float32   // (N, C) gradient of the final norm output

	// LM head chunk: rows with a target, gathered.
	rows    []int     // (≤ N) row index of each target
	targets []int     // (≤ N) target token of each row
	hc      []float32 // (R, C) gathered final-norm rows
	lc      []float32 // (R, V) logits, then their gradient
	lcap    []float32 // (R, V) tanh(logits/cap) of a softcapping layout, nil otherwise
	dhc     []float32 // (R, C) gradient of the gathered rows
	rowLoss []float64 // (R) loss of each row of the chunk
}

// layer returns the activation buffers of block l: its own when training (the backward pass
// needs every block's), block 0's in inference and with recomputation (the backward pass reruns
// each block's forward first), so that these need one block's activations rather than L.
func (a *acts) layer(l int) *layerActs {
	if a.perBlock {
		return &a.layers[l]
	}
	la := &a.layers[0]
	if a.useMid { // recomputation: res2 is the block's own (recompute.go)
		la.res2 = a.mid[l]
	}
	return la
}

// grow returns buf resliced to n elements, reallocating only when its capacity is too small.
// The contents are unspecified.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// growScratch returns one buffer of n elements per worker (see grow).
func growScratch(bufs [][]float32, n int) [][]float32 {
	if nw := workers(); len(bufs) < nw {
		bufs = append(bufs, make([][]float32, nw-len(bufs))...)
	}
	for i := range bufs {
		bufs[i] = grow(bufs[i], n)
	}
	return bufs
}

// lmChunkRows is the number of rows whose logits are materialised at once in training: about
// 128 MiB of logits, between 8 and 2048 rows. Each chunk's two products pack the whole LM head
// (V×C) again, so fewer, taller chunks pay for their memory: at V = 16384, C = 384, one chunk of
// 2048 rows instead of four of 512 made base-19m's LoRA step 3–4% faster for 100 MiB more RSS.
func lmChunkRows(vocab int) int {
	return min(2048, max(8, (128<<20)/(4*vocab)))
}

// prepare sizes the buffers for a (B, T) batch, with gradient buffers when training.
func (m *Model) prepare(B, T int, training bool) *acts {
	c := m.Config
	if m.acts == nil {
		m.acts = &acts{res: make([][]float32, c.NumHiddenLayers+1), layers: make([]layerActs, c.NumHiddenLayers)}
	}
	a := m.acts
	N, C, I := B*T, c.HiddenSize, c.IntermediateSize
	a.B, a.T, a.N = B, T, N
	for i := range a.res {
		a.res[i] = grow(a.res[i], N*C)
	}
	// Keep every layer's attention probabilities for the backward pass within attnSaveBytes.
	a.perBlock = training && !m.recompute
	kept := c.NumHiddenLayers
	if !a.perBlock {
		kept = 1
	}
	saveAtt := training && 4*B*c.NumAttentionHeads*T*T*kept <= attnSaveBytes
	// Recomputation keeps each block's res2 (recompute.go); an evaluation between training steps
	// leaves the buffers allocated, the stored path releases them (its blocks keep their own).
	a.useMid = m.keepMid(training)
	switch {
	case a.useMid:
		if a.mid == nil {
			a.mid = make([][]float32, c.NumHiddenLayers)
		}
		for i := range a.mid {
			a.mid[i] = grow(a.mid[i], N*C)
		}
	case !m.keepMid(true):
		a.mid = nil
	}
	for i := range a.layers {
		if i > 0 && !a.perBlock {
			break // inference and recomputation reuse block 0's buffers for every block (see layer)
		}
		l := &a.layers[i]
		l.mean1, l.rstd1 = grow(l.mean1, N), grow(l.rstd1, N)
		l.mean2, l.rstd2 = grow(l.mean2, N), grow(l.rstd2, N)
		if m.lay.qkNorm {
			l.qrstd, l.krstd = grow(l.qrstd, N*c.NumAttentionHeads), grow(l.krstd, N*c.NumKeyValueHeads)
		}
		if m.lay.postNorms {
			l.rstdO, l.rstdD = grow(l.rstdO, N), grow(l.rstdD, N)
		}
		if a.useMid {
			l.res2 = a.mid[0] // (the shared buffers' res2 is each block's own: layer)
		}
		m.growQKV(l, N)
		if saveAtt {
			l.att = grow(l.att, B*c.NumAttentionHeads*T*T)
		} else {
			l.att = nil // released: recomputed in the backward pass, or not needed (inference)
		}
	}
	a.lnf, a.meanf, a.rstdf = grow(a.lnf, N*C), grow(a.meanf, N), grow(a.rstdf, N)
	a.scratch = grow(a.scratch, N*C)
	a.attP = growScratch(a.attP, min(attnBlock, T)*T)
	if cap(a.ids) < N {
		a.ids = make([]int, N)
	}
	a.ids = a.ids[:N]
	if m.lay.rope {
		half := c.HeadDim / 2
		if len(a.cos) == 0 || len(a.cos[0]) < T*half {
			a.cos, a.sin = ropeTables(m.ropeInv, 0, T, half, nil, nil)
		}
	}
	R, V := lmChunkRows(c.VocabSize), c.VocabSize
	if cap(a.rows) < N {
		a.rows, a.targets = make([]int, 0, N), make([]int, 0, N)
	}
	a.hc, a.lc = grow(a.hc, R*C), grow(a.lc, R*V)
	if m.lay.logitCap != 0 {
		a.lcap = grow(a.lcap, R*V)
	}
	if len(a.rowLoss) < R {
		a.rowLoss = make([]float64, R)
	}
	a.trainable = training
	if !training {
		return a
	}
	a.dres, a.dln, a.dlnf = grow(a.dres, N*C), grow(a.dln, N*C), grow(a.dlnf, N*C)
	if m.lay.fusedQKV {
		a.dqkv = grow(a.dqkv, N*3*C)
	} else {
		a.dq, a.dk, a.dv = grow(a.dq, N*c.QDim()), grow(a.dk, N*c.KVDim()), grow(a.dv, N*c.KVDim())
	}
	if m.lay.qkNorm {
		a.dqRaw, a.dkRaw = grow(a.dqRaw, N*c.QDim()), grow(a.dkRaw, N*c.KVDim())
	}
	if m.lay.postNorms {
		a.dpost = grow(a.dpost, N*C)
	}
	if m.lay.gatedMLP {
		a.du = grow(a.du, N*I)
	}
	a.dattY = grow(a.dattY, N*c.QDim())
	a.da, a.dh = grow(a.da, N*I), grow(a.dh, N*I)
	a.dP = growScratch(a.dP, min(attnBlock, T)*T)
	if m.lay.attnCap != 0 {
		a.attR = growScratch(a.attR, min(attnBlock, T)*T)
	}
	a.dhc = grow(a.dhc, lmChunkRows(c.VocabSize)*C)
	return a
}

// growQKV sizes la's projection outputs for N rows: q, k, v (or the fused qkv), attention output,
// residual, MLP pre-activations (u only for a gated MLP) and activation.
func (m *Model) growQKV(la *layerActs, N int) {
	c := m.Config
	C, I := c.HiddenSize, c.IntermediateSize
	if m.lay.fusedQKV {
		la.qkv = grow(la.qkv, N*3*C)
	} else {
		la.q, la.k, la.v = grow(la.q, N*c.QDim()), grow(la.k, N*c.KVDim()), grow(la.v, N*c.KVDim())
	}
	if m.lay.qkNorm {
		la.qRaw, la.kRaw = grow(la.qRaw, N*c.QDim()), grow(la.kRaw, N*c.KVDim())
	}
	if m.lay.postNorms {
		la.o, la.dn = grow(la.o, N*C), grow(la.dn, N*C)
	}
	if m.lay.gatedMLP {
		la.u = grow(la.u, N*I)
	}
	la.attY = grow(la.attY, N*c.QDim())
	la.res2 = grow(la.res2, N*C)
	la.a, la.h = grow(la.a, N*I), grow(la.h, N*I)
	la.ln1, la.ln2 = grow(la.ln1, N*C), grow(la.ln2, N*C)
}
