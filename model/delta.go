package model

import "github.com/moslora/moslora/kernels/gemm"

// Delta is a trainable update attached to a frozen linear layer y = x·Wᵀ + b. The adapter package
// implements it (LoRA, MoSLoRA and the mixture mixers); the model calls it from its linear layers,
// so the model knows nothing of ranks or mixers.
//
// Shapes: x (n, in), y and dy (n, out), dx (n, in), all row-major.
type Delta interface {
	// Forward adds the update to y: y += delta(x). In training mode it may keep what Backward needs
	// (e.g. h = A·x); one Forward is followed by at most one Backward with the same x.
	Forward(y, x []float32, n int)
	// Backward accumulates the gradients of the update's own parameters and adds the input gradient
	// of the update to dx (dx may be nil when no input gradient is needed).
	Backward(dx, dy, x []float32, n int)
}

// FusedDelta is a Delta whose last product the linear layer folds into its own GEMM
// (gemm.SgemmSum), so a low-rank update costs no second pass over y in the forward pass or over
// dx in the backward pass. The model uses it instead of Forward/Backward when a Delta has it.
type FusedDelta interface {
	Delta
	// ForwardTerm does Forward's work except its last product, returned for the caller to add
	// to y: op(A)·op(B) has shape (n, out).
	ForwardTerm(x []float32, n int) gemm.Term
	// BackwardTerm accumulates the parameter gradients and returns the main product of the input
	// gradient, (n, in), for the caller to add to dx; with ok false the caller must not (BackwardRest
	// adds it). BackwardRest(dx, n) must follow whenever dx is wanted, after dx holds the rest.
	BackwardTerm(dy, x []float32, n int) (t gemm.Term, ok bool)
	BackwardRest(dx []float32, n int)
}
