package mixer

import (
	"math/rand/v2"

	"github.com/moslora/moslora/kernels/gemm"
)

// Dense is MoSLoRA's mixer, a learnable r×r matrix M (nn.Linear(r, r).weight, stored as the
// official code's lora_AB.weight):
//
//	z = h·Mᵀ  ⇒  dh = dz·M    dM += dzᵀ·h
type Dense struct {
	R     int
	M, DM []float32 // (R, R) mixer and its gradient
	init  string
	ps    []Param // Params, built once

	z, dh []float32 // (n, R) Forward's output, Backward's dh
}

func newDense(s Shape) Mixer {
	d := &Dense{R: s.R, M: make([]float32, s.R*s.R), DM: make([]float32, s.R*s.R), init: s.Init}
	d.ps = []Param{{Key: "lora_AB.weight", W: d.M, G: d.DM, Shape: []int{d.R, d.R}}}
	return d
}

func (*Dense) Name() string { return DenseName }

func (d *Dense) Forward(h, _ []float32, n int) []float32 {
	r := d.R
	d.z = grow(d.z, n*r)
	gemm.Sgemm(false, true, n, r, r, 1, h, r, d.M, r, 0, d.z, r) // z = h·Mᵀ
	return d.z
}

func (d *Dense) Backward(dz, h, _ []float32, n int) ([]float32, Product) {
	r := d.R
	d.dh = grow(d.dh, n*r)
	gemm.Sgemm(false, false, n, r, r, 1, dz, r, d.M, r, 0, d.dh, r) // dh = dz·M
	gemm.Sgemm(true, false, r, r, n, 1, dz, r, h, r, 1, d.DM, r)    // dM += dzᵀ·h
	return d.dh, Product{}
}

// Matrix is a copy of M.
func (d *Dense) Matrix() ([]float32, bool) { return append([]float32(nil), d.M...), true }

func (d *Dense) Params() []Param { return d.ps }

// Init draws M by mixer_init: kaiming-uniform(a=√5) (the official default), orthogonal or I.
func (d *Dense) Init(rng *rand.Rand) {
	switch d.init {
	case InitOrthogonal:
		Orthogonal(d.M, d.R, rng)
	case InitIdentity:
		Eye(d.M, d.R)
	default:
		KaimingUniform(d.M, d.R, rng)
	}
}
