package mixer

import "math/rand/v2"

// Mixer is the map between an adapter's A and B, z = mix(h, x), on n token rows.
//
// Shapes: h, z, dz, dh (n, R); x (n, In), the layer's undropped input.
type Mixer interface {
	// Name is the mixer's row in the table (the moslora_mixer value).
	Name() string
	// Forward returns z for h and x, keeping what Backward needs. It may return h itself.
	Forward(h, x []float32, n int) (z []float32)
	// Backward accumulates the mixer's gradients for dz (the gradient of the last Forward's z) and
	// returns dh, which may be dz itself. A mixer that reads x also returns the extra input
	// gradient it adds, dx += dx.U·dx.V, as data (a zero Product otherwise).
	Backward(dz, h, x []float32, n int) (dh []float32, dx Product)
	// Matrix returns M (R, R) with mix(h) = h·Mᵀ for every h — what merge, fold and export use —
	// or ok false when the mix depends on the input.
	Matrix() (m []float32, ok bool)
	// Params lists the mixer's tensors (none for identity); the caller must not modify the list.
	Params() []Param
	// Init draws the initial values (called after A and B are drawn from the same generator).
	Init(rng *rand.Rand)
}

// AFolder is a mixer that rewrites the adapter's A once, at initialisation, right after Init
// (the folded control: A' = M·A). Loading a saved adapter never calls it.
type AFolder interface {
	FoldIntoA(a []float32, in int) // a: (R, In), replaced in place
}

// UsageCounter is a mixer that weighs its K subspaces per token and can count those weights over
// the tokens its Forward sees (the gated mixer): the stability signals train logs.
type UsageCounter interface {
	CountUsage(on bool)                  // start counting from zero (true) or stop
	Usage() (mean []float64, tokens int) // mean weight of each subspace over the counted tokens
	Entropy() (mean float64, tokens int) // mean per-token entropy of the weights (nats)
}

// Param is one mixer tensor. Key is its name after the module path in adapter_model.safetensors
// (e.g. "lora_AB.weight"); W and G alias the mixer's storage and gradient (G nil: frozen).
type Param struct {
	Key   string
	W, G  []float32
	Shape []int
}

// Product is a rank-K product U·V that a mixer adds to the layer's input gradient: U (n, K),
// V (K, In), both row-major. The zero Product adds nothing.
type Product struct {
	U, V []float32
	K    int
}

// Shape is what a mixer is built for: rank R, the layer's input width In, and the config fields
// that shape a mixer (K = moslora_subspaces, TopK = moslora_top_k, Init = mixer_init).
type Shape struct {
	R, In int
	K     int    // subspaces (0: not set)
	TopK  int    // subspaces kept per token by a routed gate (0: not set)
	Init  string // mixer_init ("": the kind's default)
}

// grow returns buf resized to n elements, reallocating only when its capacity is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
