package model

// SetRecompute turns activation recomputation (gradient checkpointing per decoder block) on or
// off for the following training steps. On, the forward pass of ForwardBackward keeps only each
// block's input (the residual stream a.res, which it keeps anyway) and one block's activations;
// the backward pass reruns each block's forward from its input just before the block's backward.
// The rerun repeats the same arithmetic on the same values (and a Replayer Delta its dropout
// masks), so gradients are bit-identical to the stored path; the price is one more forward pass
// of every block but the last (about a third more compute), the gain L−1 blocks' activations.
func (m *Model) SetRecompute(on bool) { m.recompute = on }

// Recompute reports whether recomputation is on (SetRecompute).
func (m *Model) Recompute() bool { return m.recompute }

// replayBlock reruns block l's forward pass from its saved input a.res[l], refilling the shared
// layer buffers (and the block's Deltas' saved state) for blockBackward. The output lands in
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
	p := &pass{B: a.B, T: a.T, N: a.N, cos: a.cos, sin: a.sin, scratch: a.scratch, attP: a.attP}
	m.blockForward(l, a.res[l], a.res[l+1], a.layer(l), p)
}
