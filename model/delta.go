package model

// Delta is a trainable update attached to a frozen linear layer y = x·Wᵀ + b. The adapter package
// implements it (LoRA, MoSLoRA and the other mixers); the model asks it for its extra low-rank
// term as data and adds that term inside the layer's own matrix product, so the model knows
// nothing of ranks or mixers and the adapter nothing of the GEMM.
//
// Shapes: x (n, in), dy (n, out), all row-major.
type Delta interface {
	// ForwardTerm does the update's work for input x and returns its extra term of the output:
	// y = x·Wᵀ + b + t.Scale·t.U·t.Vᵀ (V (out, Rank), laid out as W). In training mode it keeps
	// what BackwardTerms needs; one ForwardTerm is followed by at most one BackwardTerms with the
	// same x.
	ForwardTerm(x []float32, n int) Term
	// BackwardTerms accumulates the gradients of the update's own parameters for dy and returns
	// the extra terms of the input gradient, in the order they are to be added:
	// dx = dy·W + Σ t.Scale·t.U·t.V (V (Rank, in), laid out as W) [⊙ t.Mask]. The caller ignores
	// them when it needs no input gradient. The slice is valid until the next call.
	BackwardTerms(dy, x []float32, n int) []Term
}

// Term is a low-rank product Scale·U·V(ᵀ) that a Delta adds to a linear layer's output or input
// gradient (n, cols). V enters the product exactly as the layer's weight W does: transposed in the
// forward pass (V (cols, Rank), like W (out, in)), as is in the backward pass (V (Rank, cols),
// like W in dy·W). The layer computes the first term in the same GEMM as its own product (one pass
// over y or dx) unless a term of the call is masked; a masked term is computed apart and multiplied elementwise by Mask (n, cols)
// — dropout's mask on the input gradient.
type Term struct {
	U     []float32 // (n, Rank)
	V     []float32 // forward (cols, Rank), backward (Rank, cols)
	Rank  int
	Scale float32
	Mask  []float32 // (n, cols) or nil
}

// Replayer is implemented by a Delta whose ForwardTerm draws randomness (dropout). Between
// Replay(true) and Replay(false) its ForwardTerm must repeat its last call's draws exactly: with
// recomputation (Model.SetRecompute) a block's forward pass runs again, on the same input, just
// before its backward pass, and must rebuild the very state the first pass kept.
type Replayer interface {
	Replay(on bool)
}
