package adapter

import (
	"fmt"
	"math/rand/v2"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/model"
)

// Linear is the adapter on one frozen base linear layer (it implements model.Delta):
//
//	y += s · z · Bᵀ,  z = mix(h, x),  h = x̃ · Aᵀ,  x̃ = dropout(x)       (row-major, one row per token)
//
// It owns A and B; the Mixer owns what sits between them. Parameters are float32 slices; each has
// a gradient of the same shape that the backward pass accumulates into (ZeroGrad clears them).
type Linear struct {
	Path    string      // module path in the base model, e.g. "model.layers.0.self_attn.q_proj"
	In, Out int         // base layer dimensions
	R       int         // rank
	K       int         // subspaces the mixer splits the rank into (blocks of R/K); 1 when it does not
	Scale   float32     // s = alpha/r (or alpha/√r)
	Dropout float32     // probability of zeroing an adapter input element in training mode
	Mixer   mixer.Mixer // z = mix(h, x)
	Frozen  int         // the first Frozen latent dimensions are frozen (an extension, extend.go)

	A, DA []float32 // (R, In)   down projection and its gradient
	B, DB []float32 // (Out, R)  up projection and its gradient

	training bool
	rng      *rand.Rand // dropout masks (deterministic per module)

	// Saved by ForwardTerm for BackwardTerms (capacity grows with n, reused).
	n       int
	dropped bool      // ForwardTerm applied dropout (mask and xd are valid)
	replay  bool      // Replay: reuse mask rather than drawing (recomputation)
	mask    []float32 // (n, In) dropout scale per element: 0 or 1/(1-p); used only when dropping
	xd      []float32 // (n, In) x̃ = x ⊙ mask
	h       []float32 // (n, R)  x̃·Aᵀ
	z       []float32 // (n, R)  mix(h), owned by the mixer
	// Backward scratch.
	dz      []float32     // (n, R)
	terms   [2]model.Term // BackwardTerms' result
	scratch []float32     // (n, In) for the standalone Backward's masked term
}

// newLinear allocates a Linear with zero A, B and gradients around the mixer mx (built by
// mixer.New for rank r and k subspaces).
func newLinear(path string, in, out, r, k int, mx mixer.Mixer, scale, dropout float32) *Linear {
	return &Linear{Path: path, In: in, Out: out, R: r, K: k, Mixer: mx, Scale: scale, Dropout: dropout,
		A: make([]float32, r*in), DA: make([]float32, r*in),
		B: make([]float32, out*r), DB: make([]float32, out*r)}
}

// SetTraining turns dropout on (training) or off.
func (l *Linear) SetTraining(on bool) { l.training = on }

// grow returns buf resized to n elements, reallocating only when its capacity is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// Replay makes ForwardTerm reuse its last dropout masks instead of drawing new ones while on
// (model.Replayer: the model's activation recomputation reruns a block's forward pass).
func (l *Linear) Replay(on bool) { l.replay = on }

// dropping reports whether the forward pass is to apply dropout.
func (l *Linear) dropping() bool { return l.training && l.Dropout > 0 }

// Forward adds the adapter's update to y (n, Out) for the input x (n, In) as a product of its own
// (the model fuses the same term into the base layer's GEMM instead).
func (l *Linear) Forward(y, x []float32, n int) {
	l.scratch = model.AddTerm(y, l.ForwardTerm(x, n), true, n, l.Out, l.scratch)
}

// ForwardTerm computes h = x̃·Aᵀ and z = mix(h, x), keeps them for BackwardTerms, and returns the
// update's term y += s·z·Bᵀ (model.Delta).
func (l *Linear) ForwardTerm(x []float32, n int) model.Term {
	r, in := l.R, l.In
	l.n = n
	l.dropped = l.dropping()
	xin := x
	if l.dropped && l.replay && len(l.mask) == n*in {
		// A recomputation (model.Replayer): the same masks as the pass it repeats.
		l.xd = grow(l.xd, n*in)
		for i, mk := range l.mask {
			l.xd[i] = x[i] * mk
		}
		xin = l.xd
	} else if l.dropped {
		if l.rng == nil {
			l.rng = newRNG(0, "dropout", l.Path)
		}
		l.mask, l.xd = grow(l.mask, n*in), grow(l.xd, n*in)
		keep := 1 / (1 - l.Dropout)
		for i := range l.mask {
			if l.rng.Float32() < l.Dropout {
				l.mask[i] = 0
			} else {
				l.mask[i] = keep
			}
			l.xd[i] = x[i] * l.mask[i]
		}
		xin = l.xd
	}
	l.h = grow(l.h, n*r)
	gemm.Sgemm(false, true, n, r, in, 1, xin, in, l.A, in, 0, l.h, r) // h = x̃·Aᵀ
	l.z = l.Mixer.Forward(l.h, x, n)
	return model.Term{U: l.z, V: l.B, Rank: r, Scale: l.Scale}
}

// Backward accumulates the gradients for the upstream gradient dy (n, Out) of the Forward just
// run on x (n, In), and adds the input gradient to dx (n, In) unless dx is nil (the terms of
// BackwardTerms, each as its own product).
func (l *Linear) Backward(dx, dy, x []float32, n int) {
	ts := l.BackwardTerms(dy, x, n)
	if dx == nil {
		return
	}
	for _, t := range ts {
		l.scratch = model.AddTerm(dx, t, false, n, l.In, l.scratch)
	}
}

// BackwardTerms accumulates DA, DB and the mixer's gradients for the upstream gradient dy
// (n, Out) of the ForwardTerm just run on x (n, In), and returns the terms of the input gradient
// (model.Delta):
//
//	y += s·z·Bᵀ          ⇒  dz = s·dy·B                dB += s·dyᵀ·z
//	z = mix(h, x)        ⇒  dh, the mixer's gradients and its input term (Mixer.Backward)
//	h = x̃·Aᵀ             ⇒  dA += dhᵀ·x̃               dx̃ = dh·A
//	x̃ = x ⊙ mask         ⇒  dx += dx̃ ⊙ mask
//
// Terms: dh·A first (fused into the base layer's GEMM), then the mixer's; with dropout, the
// mixer's first and then (dh·A) ⊙ mask.
func (l *Linear) BackwardTerms(dy, x []float32, n int) []model.Term {
	if n != l.n {
		panic(fmt.Sprintf("adapter: Backward of %s with %d rows after a Forward of %d", l.Path, n, l.n))
	}
	r, in, out := l.R, l.In, l.Out
	xin := x
	if l.dropped {
		xin = l.xd
	}
	l.dz = grow(l.dz, n*r)
	gemm.Sgemm(false, false, n, r, out, l.Scale, dy, out, l.B, r, 0, l.dz, r) // dz = s·dy·B
	gemm.Sgemm(true, false, out, r, n, l.Scale, dy, out, l.z, r, 1, l.DB, r)  // dB += s·dyᵀ·z
	dh, mx := l.Mixer.Backward(l.dz, l.h, x, n)
	gemm.Sgemm(true, false, r, in, n, 1, dh, r, xin, in, 1, l.DA, in) // dA += dhᵀ·x̃

	ts := l.terms[:0]
	ha := model.Term{U: dh, V: l.A, Rank: r, Scale: 1}
	if l.dropped {
		ha.Mask = l.mask
	} else {
		ts = append(ts, ha)
	}
	if mx.K > 0 {
		ts = append(ts, model.Term{U: mx.U, V: mx.V, Rank: mx.K, Scale: 1})
	}
	if l.dropped {
		ts = append(ts, ha)
	}
	return ts
}

// params lists l's tensors with their file keys: A, the mixer's, B.
func (l *Linear) params() []Param {
	pre := keyPrefix + l.Path + "."
	ps := []Param{{Key: pre + "lora_A.weight", W: l.A, G: l.DA, Shape: []int{l.R, l.In}, Group: GroupA}}
	for _, p := range l.Mixer.Params() {
		ps = append(ps, Param{Key: pre + p.Key, W: p.W, G: p.G, Shape: p.Shape, Group: GroupMixer})
	}
	ps = append(ps, Param{Key: pre + "lora_B.weight", W: l.B, G: l.DB, Shape: []int{l.Out, l.R}, Group: GroupB})
	for i := range ps {
		ps[i].Train = l.trainSpans(ps[i].Group, ps[i].Shape)
	}
	return ps
}

// ZeroGrad clears the gradients.
func (l *Linear) ZeroGrad() {
	clear(l.DA)
	clear(l.DB)
	for _, p := range l.Mixer.Params() {
		clear(p.G)
	}
}

// MixMatrix returns the mixer as an (R, R) matrix M with mix(h) = M·h (Mixer.Matrix); ok is false
// for a mixer that depends on the input (gated).
func (l *Linear) MixMatrix() (m []float32, ok bool) { return l.Mixer.Matrix() }

// DeltaW returns ΔW = s·B·M·A (Out, In), the update a mergeable adapter adds to the base weight,
// accumulated in float64. ok is false when the mixer has no matrix.
func (l *Linear) DeltaW() (dw []float32, ok bool) {
	ma, ok := l.FoldedA() // (R, In) = M·A
	if !ok {
		return nil, false
	}
	r, in, out := l.R, l.In, l.Out
	dw = make([]float32, out*in)
	row := make([]float64, in)
	for o := 0; o < out; o++ {
		clear(row)
		for p := 0; p < r; p++ {
			b := float64(l.B[o*r+p])
			for i := 0; i < in; i++ {
				row[i] += b * float64(ma[p*in+i])
			}
		}
		for i := 0; i < in; i++ {
			dw[o*in+i] = float32(float64(l.Scale) * row[i])
		}
	}
	return dw, true
}

// FoldedA returns A' = M·A (R, In), accumulated in float64: the lora_A of the plain LoRA adapter
// with the same update, ΔW = s·B·A' = s·B·M·A. ok is false when the mixer has no matrix.
func (l *Linear) FoldedA() (fa []float32, ok bool) {
	m, ok := l.MixMatrix()
	if !ok {
		return nil, false
	}
	return foldA(m, l.A, l.R, l.In), true
}

// foldA returns M·A (R, In) for M (R, R) and A (R, In), accumulated in float64.
func foldA(m, a []float32, r, in int) []float32 {
	out := make([]float32, r*in)
	acc := make([]float64, in)
	for p := 0; p < r; p++ {
		clear(acc)
		for q := 0; q < r; q++ {
			mv := float64(m[p*r+q])
			for i := 0; i < in; i++ {
				acc[i] += mv * float64(a[q*in+i])
			}
		}
		for i := 0; i < in; i++ {
			out[p*in+i] = float32(acc[i])
		}
	}
	return out
}
