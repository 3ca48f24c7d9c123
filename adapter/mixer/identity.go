package mixer

import "math/rand/v2"

// Identity is plain LoRA's mixer: z = h.
//
//	z = h  ⇒  dh = dz
type Identity struct{ r int }

func newIdentity(s Shape) Mixer { return &Identity{r: s.R} }

func (*Identity) Name() string                                            { return IdentityName }
func (*Identity) Forward(h, _ []float32, _ int) []float32                 { return h }
func (*Identity) Backward(dz, _, _ []float32, _ int) ([]float32, Product) { return dz, Product{} }
func (*Identity) Params() []Param                                         { return nil }
func (*Identity) Init(*rand.Rand)                                         {}

// Matrix is I (R, R).
func (m *Identity) Matrix() ([]float32, bool) {
	e := make([]float32, m.r*m.r)
	Eye(e, m.r)
	return e, true
}
