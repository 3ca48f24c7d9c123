package model

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
