package model

// SetRecompute turns activation recomputation (gradient checkpointing per decoder block) on or
// off for the following training steps. On, the forward pass of ForwardBackward keeps only each
// block's input and output (the residual stream a.res, which it keeps anyway), each block's mid
// residual res2 = x + attention output (one more (N, C) tensor per block; not in post-norm
// layouts) and one block's activations; the backward pass reruns each block's forward from its
// input just before the block's backward. The rerun repeats the same arithmetic on the same values
// (and a Replayer Delta its dropout masks), so gradients are bit-identical to the stored path.
//
// The rerun stops at what the backward pass reads: it needs the inputs of the O and Down
// products (attention output, activation) but not their outputs, which only feed res2 and the
// block's output, both kept; so those two products are skipped (their Deltas still run
// ForwardTerm, which keeps the adapter's own state). In a Llama block they are a third of the
// linear FLOPs (o: C·QDim, down: I·C of 7 projections), so the price of recomputation is about
// two thirds of one more forward of every block but the last, the gain L−1 blocks' activations
// less one (N, C) tensor each. Post-norm layouts (Gemma 3) rerun the whole block: their backward
// needs the O and Down outputs (the inputs of the post norms).
func (m *Model) SetRecompute(on bool) { m.recompute = on }

// Recompute reports whether recomputation is on (SetRecompute).
func (m *Model) Recompute() bool { return m.recompute }

// replayBlock reruns block l's forward pass from its saved input a.res[l], refilling the shared
// layer buffers (and the block's Deltas' saved state) for blockBackward. With the mid residual
// kept (a.mid) the rerun stops short of the O and Down products; otherwise the output lands in
// a.res[l+1], which holds the same values already and is not read again.
func (m *Model) replayBlock(l int, a *acts) {
	b := &m.Blocks[l]
	ls := []*Linear{b.Q, b.K, b.V, b.QKV, b.O, b.Gate, b.Up, b.Down}
	replay := func(on bool) {
		for _, lin := range ls {
			if lin == nil {
				continue
			}
			if r, ok := lin.Delta.(Replayer); ok {
				r.Replay(on)
			}
		}
	}
	replay(true)
	defer replay(false)
	p := &pass{B: a.B, T: a.T, N: a.N, cos: a.cos, sin: a.sin, scratch: a.scratch, attP: a.attP, replay: a.useMid}
	m.blockForward(l, a.res[l], a.res[l+1], a.layer(l), p)
}

// keepMid reports whether a training pass keeps each block's mid residual res2 (a.mid): with
// recomputation, except in post-norm layouts whose rerun needs the whole block anyway.
func (m *Model) keepMid(training bool) bool {
	return training && m.recompute && !m.lay.postNorms
}

// keepState runs only the layer's Delta's ForwardTerm on x (n rows) — what the Delta keeps for
// its backward — without the layer's product: a replayed block whose output is not needed.
func (l *Linear) keepState(x []float32, n int) {
	if l.Delta != nil {
		l.Delta.ForwardTerm(x, n)
	}
}
