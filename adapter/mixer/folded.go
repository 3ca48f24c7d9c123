package mixer

import "math/rand/v2"

// Folded is the folded control of MoSLoRA (the control Hugging Face PEFT's maintainer ran): the
// dense mixer M is drawn exactly as MoSLoRA draws it (same generator, same mixer_init), folded
// into A once at initialisation and then frozen — the adapter trains as plain LoRA started from
// A' = M·A. It owns no tensor and its map is the identity:
//
//	at Init:  A' = M·A            (FoldIntoA, float64 accumulation, as adapter's fold)
//	z = h  ⇒  dh = dz             (nothing of the mixer is trained)
//
// So a folded run differs from a MoSLoRA run of the same seed only in that M never moves and
// the gradient reaches A' directly, and from a LoRA run only in A's starting point.
type Folded struct {
	R    int
	M    []float32 // (R, R) the mixer drawn at Init and folded into A (not saved, never trained)
	init string
}

func newFolded(s Shape) Mixer {
	return &Folded{R: s.R, init: s.Init}
}

func (*Folded) Name() string                                            { return FoldedName }
func (*Folded) Forward(h, _ []float32, _ int) []float32                 { return h }
func (*Folded) Backward(dz, _, _ []float32, _ int) ([]float32, Product) { return dz, Product{} }
func (*Folded) Params() []Param                                         { return nil }

// Matrix is I (R, R): after the fold the mixer adds nothing.
func (f *Folded) Matrix() ([]float32, bool) {
	e := make([]float32, f.R*f.R)
	Eye(e, f.R)
	return e, true
}

// Init draws M as the dense mixer does for the same mixer_init (kaiming-uniform by default).
func (f *Folded) Init(rng *rand.Rand) {
	f.M = make([]float32, f.R*f.R)
	(&Dense{R: f.R, M: f.M, init: f.init}).Init(rng)
}

// FoldIntoA replaces a (R, In) by M·a, accumulated in float64 row by row. Called once by the
// adapter right after Init; a no-op when Init has not run (a loaded adapter is already folded).
func (f *Folded) FoldIntoA(a []float32, in int) {
	if f.M == nil {
		return
	}
	r := f.R
	out := make([]float32, r*in)
	acc := make([]float64, in)
	for p := 0; p < r; p++ {
		clear(acc)
		for q := 0; q < r; q++ {
			mv := float64(f.M[p*r+q])
			for i := 0; i < in; i++ {
				acc[i] += mv * float64(a[q*in+i])
			}
		}
		for i := 0; i < in; i++ {
			out[p*in+i] = float32(acc[i])
		}
	}
	copy(a, out)
}
