package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/moslora/moslora/kernels/gemm"
)

// Linear is the adapter on one frozen base linear layer (it implements model.Delta):
//
//	y += s · z · Bᵀ,  z = mix(h, x),  h = x̃ · Aᵀ,  x̃ = dropout(x)       (row-major, one row per token)
//
// Parameters are float32 slices owned by the Linear; each has a gradient of the same shape that
// Backward accumulates into (ZeroGrad clears them).
type Linear struct {
	Path    string  // module path in the base model, e.g. "model.layers.0.self_attn.q_proj"
	In, Out int     // base layer dimensions
	R       int     // rank
	K       int     // number of subspaces (blocks of R/K); 1 for identity and dense
	Mixer   string  // MixerIdentity, MixerDense, MixerGlobal or MixerGated
	Scale   float32 // s = alpha/r (or alpha/√r)
	Dropout float32 // probability of zeroing an adapter input element in training mode

	A, DA   []float32 // (R, In)   down projection and its gradient
	B, DB   []float32 // (Out, R)  up projection and its gradient
	M, DM   []float32 // (R, R)    dense mixer (nn.Linear(r, r).weight: z = h·Mᵀ), nil otherwise
	Pi, DPi []float32 // (K)       global mixer logits, nil otherwise
	G, DG   []float32 // (K, In)   gated mixer weight, nil otherwise
	C, DC   []float32 // (K)       gated mixer bias, nil otherwise

	training bool
	rng      *rand.Rand // dropout masks (deterministic per module)

	// Saved by Forward for Backward (capacity grows with n, reused).
	n       int
	dropped bool      // Forward applied dropout (mask and xd are valid)
	mask    []float32 // (n, In) dropout scale per element: 0 or 1/(1-p); used only when dropping
	xd      []float32 // (n, In) x̃ = x ⊙ mask
	h       []float32 // (n, R)  x̃·Aᵀ
	z       []float32 // (n, R)  mix(h); aliases h for the identity mixer
	w       []float32 // (K)     softmax(π), global mixer
	g       []float32 // (n, K)  softmax(G·x + c), gated mixer
	// Backward scratch.
	dz, dh []float32 // (n, R)
	dl     []float32 // (n, K) gradient of the gate logits
	dxd    []float32 // (n, In) gradient of x̃ (dropout only)
}

// newLinear allocates a Linear with zero parameters and gradients for the given mixer.
func newLinear(path string, in, out, r, k int, mixer string, scale, dropout float32) *Linear {
	if k <= 0 || r%k != 0 {
		panic(fmt.Sprintf("adapter: %d subspaces do not divide rank %d", k, r))
	}
	l := &Linear{Path: path, In: in, Out: out, R: r, K: k, Mixer: mixer, Scale: scale, Dropout: dropout,
		A: make([]float32, r*in), DA: make([]float32, r*in),
		B: make([]float32, out*r), DB: make([]float32, out*r)}
	switch mixer {
	case MixerIdentity:
	case MixerDense:
		l.M, l.DM = make([]float32, r*r), make([]float32, r*r)
	case MixerGlobal:
		l.Pi, l.DPi = make([]float32, k), make([]float32, k)
	case MixerGated:
		l.G, l.DG = make([]float32, k*in), make([]float32, k*in)
		l.C, l.DC = make([]float32, k), make([]float32, k)
	default:
		panic("adapter: unknown mixer " + mixer)
	}
	return l
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

// dropping reports whether Forward is to apply dropout.
func (l *Linear) dropping() bool { return l.training && l.Dropout > 0 }

// Forward adds the adapter's update to y (n, Out) for the input x (n, In) and keeps h, z (and the
// dropout mask, the gates) for Backward.
func (l *Linear) Forward(y, x []float32, n int) {
	t := l.ForwardTerm(x, n)
	gemm.Sgemm(false, true, n, l.Out, t.K, t.Alpha, t.A, t.Lda, t.B, t.Ldb, 1, y, l.Out)
}

// ForwardTerm does Forward's work but its last product, which it returns for the base layer to
// fold into its own (gemm.SgemmSum): y += s · z·Bᵀ, z (n, R), B (Out, R).
func (l *Linear) ForwardTerm(x []float32, n int) gemm.Term {
	r, in := l.R, l.In
	l.n = n
	l.dropped = l.dropping()
	xin := x
	if l.dropped {
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
	l.z = l.mix(x, n)
	return gemm.Term{TransB: true, K: r, Alpha: l.Scale, A: l.z, Lda: r, B: l.B, Ldb: r}
}

// mix computes z = mix(h, x) (n, R) from l.h.
func (l *Linear) mix(x []float32, n int) []float32 {
	r, k := l.R, l.K
	switch l.Mixer {
	case MixerIdentity:
		return l.h
	case MixerDense:
		z := l.ownZ(n)
		gemm.Sgemm(false, true, n, r, r, 1, l.h, r, l.M, r, 0, z, r) // z = h·Mᵀ
		return z
	case MixerGlobal:
		l.w = grow(l.w, k)
		softmax(l.w, l.Pi)
		z := l.ownZ(n)
		bs := r / k
		for i := 0; i < n; i++ {
			for j := 0; j < r; j++ {
				z[i*r+j] = l.w[j/bs] * l.h[i*r+j]
			}
		}
		return z
	case MixerGated:
		l.g = grow(l.g, n*k)
		gemm.Sgemm(false, true, n, k, l.In, 1, x, l.In, l.G, l.In, 0, l.g, k) // logits = x·Gᵀ
		for i := 0; i < n; i++ {
			row := l.g[i*k : (i+1)*k]
			for m := range row {
				row[m] += l.C[m] // + c
			}
			softmax(row, row)
		}
		z := l.ownZ(n)
		bs := r / k
		for i := 0; i < n; i++ {
			for j := 0; j < r; j++ {
				z[i*r+j] = l.g[i*k+j/bs] * l.h[i*r+j]
			}
		}
		return z
	}
	panic("adapter: unknown mixer " + l.Mixer)
}

// ownZ returns an (n, R) buffer for z that does not alias h.
func (l *Linear) ownZ(n int) []float32 {
	z := grow(l.z, n*l.R)
	if len(z) > 0 && len(l.h) > 0 && &z[0] == &l.h[0] {
		z = make([]float32, n*l.R)
	}
	return z
}

// softmax writes softmax(in) to out (same length; may alias) with float64 exponentials and sum,
// without allocating (the gated mixer calls it once per token).
func softmax(out, in []float32) {
	mx := math.Inf(-1)
	for _, v := range in {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for i, v := range in {
		e := math.Exp(float64(v) - mx)
		out[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range out {
		out[i] = float32(float64(out[i]) * inv)
	}
}

// Backward accumulates DA, DB and the mixer's gradients for the upstream gradient dy (n, Out) of
// the Forward just run on x (n, In), and adds the input gradient to dx (n, In) unless dx is nil.
//
//	y += s·z·Bᵀ          ⇒  dz = s·dy·B                dB += s·dyᵀ·z
//	identity  z = h      ⇒  dh = dz
//	dense     z = h·Mᵀ   ⇒  dh = dz·M                  dM += dzᵀ·h
//	global    z_k = w_k·h_k, w = softmax(π)
//	                     ⇒  dh_k = w_k·dz_k            dw_k = Σ_tokens Σ_{j∈k} dz·h
//	                        dπ += w ⊙ (dw − (w·dw))    (softmax Jacobian)
//	gated     z_{t,k} = g_{t,k}·h_{t,k}, g_t = softmax(ℓ_t), ℓ_t = G·x_t + c
//	                     ⇒  dh_{t,k} = g_{t,k}·dz_{t,k}   dg_{t,k} = Σ_{j∈k} dz·h
//	                        dℓ_t = g_t ⊙ (dg_t − (g_t·dg_t))
//	                        dG += dℓᵀ·x   dc += Σ_t dℓ_t   dx += dℓ·G
//	h = x̃·Aᵀ             ⇒  dA += dhᵀ·x̃               dx̃ = dh·A
//	x̃ = x ⊙ mask         ⇒  dx += dx̃ ⊙ mask
func (l *Linear) Backward(dx, dy, x []float32, n int) {
	t, ok := l.BackwardTerm(dy, x, n)
	if dx == nil {
		return
	}
	if ok {
		gemm.Sgemm(false, false, n, l.In, t.K, t.Alpha, t.A, t.Lda, t.B, t.Ldb, 1, dx, l.In) // dx += dh·A
	}
	l.BackwardRest(dx, n)
}

// BackwardTerm does Backward's work on the parameters (every gradient but the input's) and returns
// the main product of the input gradient, dx += dh·A (dh (n, R), A (R, In)), for the base layer
// to fold into its own; ok is false when that product is not a plain one (dropout), and
// BackwardRest then adds it. Either way BackwardRest must follow when an input gradient is wanted.
func (l *Linear) BackwardTerm(dy, x []float32, n int) (t gemm.Term, ok bool) {
	if n != l.n {
		panic(fmt.Sprintf("adapter: Backward of %s with %d rows after a Forward of %d", l.Path, n, l.n))
	}
	r, in, out, k := l.R, l.In, l.Out, l.K
	xin := x
	if l.dropped {
		xin = l.xd
	}
	l.dz = grow(l.dz, n*r)
	gemm.Sgemm(false, false, n, r, out, l.Scale, dy, out, l.B, r, 0, l.dz, r) // dz = s·dy·B
	gemm.Sgemm(true, false, out, r, n, l.Scale, dy, out, l.z, r, 1, l.DB, r)  // dB += s·dyᵀ·z

	dh := l.dz
	switch l.Mixer {
	case MixerDense:
		l.dh = grow(l.dh, n*r)
		dh = l.dh
		gemm.Sgemm(false, false, n, r, r, 1, l.dz, r, l.M, r, 0, dh, r)  // dh = dz·M
		gemm.Sgemm(true, false, r, r, n, 1, l.dz, r, l.h, r, 1, l.DM, r) // dM += dzᵀ·h
	case MixerGlobal:
		l.dh = grow(l.dh, n*r)
		dh = l.dh
		bs := r / k
		dw := make([]float64, k)
		for i := 0; i < n; i++ {
			for j := 0; j < r; j++ {
				d := l.dz[i*r+j]
				dh[i*r+j] = l.w[j/bs] * d
				dw[j/bs] += float64(d) * float64(l.h[i*r+j])
			}
		}
		var wdw float64
		for m := 0; m < k; m++ {
			wdw += float64(l.w[m]) * dw[m]
		}
		for m := 0; m < k; m++ {
			l.DPi[m] += float32(float64(l.w[m]) * (dw[m] - wdw))
		}
	case MixerGated:
		l.dh = grow(l.dh, n*r)
		dh = l.dh
		l.dl = grow(l.dl, n*k)
		bs := r / k
		dg := make([]float64, k)
		for i := 0; i < n; i++ {
			clear(dg)
			for j := 0; j < r; j++ {
				d := l.dz[i*r+j]
				dh[i*r+j] = l.g[i*k+j/bs] * d
				dg[j/bs] += float64(d) * float64(l.h[i*r+j])
			}
			var gdg float64
			for m := 0; m < k; m++ {
				gdg += float64(l.g[i*k+m]) * dg[m]
			}
			for m := 0; m < k; m++ {
				d := float32(float64(l.g[i*k+m]) * (dg[m] - gdg))
				l.dl[i*k+m] = d
				l.DC[m] += d
			}
		}
		gemm.Sgemm(true, false, k, in, n, 1, l.dl, k, x, in, 1, l.DG, in) // dG += dℓᵀ·x
	}
	gemm.Sgemm(true, false, r, in, n, 1, dh, r, xin, in, 1, l.DA, in) // dA += dhᵀ·x̃
	return gemm.Term{K: r, Alpha: 1, A: dh, Lda: r, B: l.A, Ldb: in}, !l.dropped
}

// lastDh is the dh of the last BackwardTerm: dz itself for the identity mixer, else its own buffer.
func (l *Linear) lastDh() []float32 {
	if l.Mixer == MixerIdentity {
		return l.dz
	}
	return l.dh
}

// BackwardRest adds to dx (n, In) the parts of the input gradient BackwardTerm did not return: the
// gate's dℓ·G, and with dropout (dh·A) ⊙ mask.
func (l *Linear) BackwardRest(dx []float32, n int) {
	in, k := l.In, l.K
	if l.Mixer == MixerGated {
		gemm.Sgemm(false, false, n, in, k, 1, l.dl, k, l.G, in, 1, dx, in) // dx += dℓ·G
	}
	if !l.dropped {
		return
	}
	l.dxd = grow(l.dxd, n*in)
	gemm.Sgemm(false, false, n, in, l.R, 1, l.lastDh(), l.R, l.A, in, 0, l.dxd, in) // dx̃ = dh·A
	for i, d := range l.dxd {
		dx[i] += d * l.mask[i] // dx += dx̃ ⊙ mask
	}
}

// ZeroGrad clears the gradients.
func (l *Linear) ZeroGrad() {
	for _, g := range [][]float32{l.DA, l.DB, l.DM, l.DPi, l.DG, l.DC} {
		clear(g)
	}
}

// MixMatrix returns the mixer as an (R, R) matrix M with mix(h) = M·h: I for identity, lora_AB for
// dense, blockdiag(w_k·I) for global. The gated mixer depends on the input and has none (ok false).
func (l *Linear) MixMatrix() (m []float32, ok bool) {
	r := l.R
	switch l.Mixer {
	case MixerIdentity:
		m = make([]float32, r*r)
		eye(m, r)
	case MixerDense:
		m = append([]float32(nil), l.M...)
	case MixerGlobal:
		w := make([]float32, l.K)
		softmax(w, l.Pi)
		m = make([]float32, r*r)
		bs := r / l.K
		for j := 0; j < r; j++ {
			m[j*r+j] = w[j/bs]
		}
	default:
		return nil, false
	}
	return m, true
}

// DeltaW returns ΔW = s·B·M·A (Out, In), the update a mergeable adapter adds to the base weight,
// accumulated in float64. ok is false for the gated mixer.
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
// with the same update, ΔW = s·B·A' = s·B·M·A. ok is false for the gated mixer (no fixed M).
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
