package adapter

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Extension (continual learning): an adapter of rank r_old is extended by r_new latent dimensions
// for a new task. The result is an ordinary adapter of rank r = r_old + r_new whose old part is the
// old adapter's, frozen, and whose new part starts as PEFT starts any adapter:
//
//	A = [A_old; A_new]          (r, in)   A_new: fresh rows (kaiming-uniform, from the seed)
//	B = [B_old, B_new]          (out, r)  B_new = 0
//	M = [M_old 0; 0 M_new]      (r, r)    dense mixer: block-diagonal, M_new the fresh mixer's block,
//	                                      the off-diagonal blocks zero and frozen
//	s = alpha/r = alpha_old/r_old          (lora_alpha chosen so, see ExtendConfig)
//
// so that s·B·M·A = s·B_old·M_old·A_old + s·B_new·M_new·A_new: the old task's update is a term of
// its own, unchanged by training the new part, and exactly the old update while B_new = 0.
//
// Freezing is per entry: a Linear with Frozen = r_old reports, for each of its tensors, the spans
// of entries that train (Param.Train); the trainer masks gradients and AdamW (moments, update and
// weight decay) to those spans, so frozen entries stay bit-identical. A mixer can be extended when
// it is a fixed linear map of the latent space (Mixer.Matrix) whose every tensor is an (r, r)
// matrix acting on it — identity (LoRA), dense (MoSLoRA), the folded control. The global and gated
// mixers cannot: their softmax over subspaces couples old and new weights, so no freezing of the
// old tensors keeps the old update.

// Span is a half-open range [Lo, Hi) of a tensor's entries in row-major order.
type Span struct{ Lo, Hi int }

// ErrNotExtendable is returned (wrapped) by Extend for an adapter whose mixer cannot be extended.
var ErrNotExtendable = errors.New("mixer cannot be extended")

// ExtendConfig returns the configuration of old extended by extra latent dimensions: r = old.R +
// extra and lora_alpha chosen so that the scaling s of every module equals old's exactly, in
// float32 (what the forward pass multiplies by, here and in PEFT's float32 tensors) and in
// float64 (PEFT's Python float) whenever alpha/r is exact, e.g. an integer alpha at a power-of-two r:
//
//	s = alpha/r:   alpha' = alpha·r'/r       (use_rslora: s = alpha/√r, alpha' = alpha·√r'/√r)
//
// The float64 product is checked and, when rounding moved it, nudged by a few ulps until alpha'/r'
// divides back to old's scaling (or, when no nearby value does, to its float32 rounding). An adapter with rank_pattern or alpha_pattern is refused (its
// modules would need per-module alphas that PEFT's alpha_pattern cannot express for every rank).
func ExtendConfig(old Config, extra int) (Config, error) {
	if extra < 0 {
		return old, fmt.Errorf("adapter: extending by %d latent dimensions: expected ≥ 0", extra)
	}
	if len(old.RankPattern) > 0 || len(old.AlphaPattern) > 0 {
		return old, fmt.Errorf("adapter: an adapter with rank_pattern or alpha_pattern cannot be extended (per-module ranks)")
	}
	c := old
	c.R = old.R + extra
	if extra == 0 {
		return c, nil
	}
	alpha, ok := extendAlpha(old.LoraAlpha, old.R, c.R, old.UseRSLoRA)
	if !ok {
		return old, fmt.Errorf("adapter: no lora_alpha for r %d keeps the scaling %v of lora_alpha %v at r %d", c.R, old.Scaling(old.R, old.LoraAlpha), old.LoraAlpha, old.R)
	}
	c.LoraAlpha = alpha
	return c, nil
}

// extendAlpha returns alpha' with alpha'/f(r') == alpha/f(r) in float64 when a value within a few
// ulps of the exact product has that property, else the nearest whose float32 scaling is equal
// (f(r) = r, or √r with rslora); ok is false when neither exists.
func extendAlpha(alpha float64, r, r2 int, rslora bool) (float64, bool) {
	f := func(n int) float64 {
		if rslora {
			return math.Sqrt(float64(n))
		}
		return float64(n)
	}
	want := alpha / f(r)
	base := alpha * f(r2) / f(r)
	var cands []float64
	up, down := base, base
	cands = append(cands, base)
	for i := 0; i < 8; i++ {
		up, down = math.Nextafter(up, math.Inf(1)), math.Nextafter(down, math.Inf(-1))
		cands = append(cands, up, down)
	}
	for _, a := range cands {
		if a/f(r2) == want {
			return a, true
		}
	}
	for _, a := range cands {
		if float32(a/f(r2)) == float32(want) {
			return a, true
		}
	}
	return 0, false
}

// Extendable reports whether an adapter of this mixer can be extended by latent dimensions: its
// mixer must be a fixed linear map of the latent space whose every tensor is (r, r); err says why
// not, naming the mixer.
func (a *Adapter) Extendable() error {
	for _, l := range a.Linears {
		if _, ok := l.Mixer.Matrix(); !ok {
			return fmt.Errorf("%w: the %s mixer depends on the input", ErrNotExtendable, l.Mixer.Name())
		}
		for _, p := range l.Mixer.Params() {
			if !slices.Equal(p.Shape, []int{l.R, l.R}) {
				return fmt.Errorf("%w: the %s mixer's %s (shape %v) is not a map of the latent space (its weights over subspaces would couple the old and the new ones)", ErrNotExtendable, l.Mixer.Name(), p.Key, p.Shape)
			}
		}
	}
	return nil
}

// Extend returns a new adapter attached to m: old (detached, e.g. from LoadDetached, and not
// merged) with extra latent dimensions per module, laid out as the package's Extension comment
// says; the old part is frozen (Linear.Frozen) and the new part drawn from seed as New draws an
// adapter of the larger rank (A's new rows, the new mixer block), with B_new = 0 whatever
// init_lora_weights says. With extra = 0 the result is a copy of old with every entry trainable
// (sequential fine-tuning), for any mixer. Dropout masks start from seed.
func Extend(old *Adapter, m Base, extra int, seed int64) (*Adapter, error) {
	if old.merged {
		return nil, fmt.Errorf("adapter: cannot extend a merged adapter; Unmerge it first")
	}
	if extra > 0 {
		if err := old.Extendable(); err != nil {
			return nil, fmt.Errorf("adapter: %w", err)
		}
	}
	cfg, err := ExtendConfig(old.Config, extra)
	if err != nil {
		return nil, err
	}
	a, err := New(cfg, m, seed)
	if err != nil {
		return nil, err
	}
	if len(a.Linears) != len(old.Linears) {
		a.Detach()
		return nil, fmt.Errorf("adapter: the extended adapter selects %d modules, the old one %d", len(a.Linears), len(old.Linears))
	}
	for i, l := range a.Linears {
		o := old.Linears[i]
		if o.Path != l.Path || o.In != l.In || o.Out != l.Out {
			a.Detach()
			return nil, fmt.Errorf("adapter: module %d is %s (%d→%d) in the old adapter and %s (%d→%d) in the extended one", i, o.Path, o.In, o.Out, l.Path, l.In, l.Out)
		}
		l.extendFrom(o)
	}
	return a, nil
}

// extendFrom copies o's tensors into the leading latent dimensions of l (rank l.R ≥ o.R, freshly
// initialised), zeroes B's new columns and the mixer's off-diagonal blocks, and freezes o's part
// when l is larger.
func (l *Linear) extendFrom(o *Linear) {
	r0, r, in := o.R, l.R, l.In
	copy(l.A[:r0*in], o.A) // A: (r, in), the old rows first
	for row := 0; row < l.Out; row++ {
		copy(l.B[row*r:row*r+r0], o.B[row*r0:row*r0+r0]) // B: (out, r), the old columns first
		clear(l.B[row*r+r0 : row*r+r])                   // new columns: PEFT's B = 0
	}
	ops := o.Mixer.Params()
	for k, p := range l.Mixer.Params() {
		if r == r0 {
			copy(p.W, ops[k].W)
			continue
		}
		// (r, r) latent map (Extendable): [M_old 0; 0 M_new].
		for i := 0; i < r; i++ {
			for j := 0; j < r; j++ {
				switch {
				case i < r0 && j < r0:
					p.W[i*r+j] = ops[k].W[i*r0+j]
				case i < r0 || j < r0:
					p.W[i*r+j] = 0
				}
			}
		}
	}
	if r > r0 {
		l.Frozen = r0
	}
}

// trainSpans returns the spans of a tensor of l that train when the first l.Frozen latent
// dimensions are frozen: A's rows from Frozen on, B's columns from Frozen on, and of each (r, r)
// mixer tensor the block [Frozen:, Frozen:]. nil (everything trains) when nothing is frozen.
func (l *Linear) trainSpans(group string, shape []int) []Span {
	f, r := l.Frozen, l.R
	if f == 0 {
		return nil
	}
	switch group {
	case GroupA:
		return []Span{{f * l.In, r * l.In}}
	case GroupB:
		return rowTails(l.Out, r, f)
	}
	if slices.Equal(shape, []int{r, r}) {
		return rowTails(r, r, f)[f:]
	}
	return []Span{} // any other mixer tensor is frozen whole (Extendable refuses such mixers)
}

// rowTails is [row·cols + from, row·cols + cols) for every row of a (rows, cols) matrix.
func rowTails(rows, cols, from int) []Span {
	s := make([]Span, rows)
	for i := range s {
		s[i] = Span{i*cols + from, i*cols + cols}
	}
	return s
}

// NumTrainable is the number of adapter parameters that train (all of NumParams unless part of
// the adapter is frozen by an extension).
func (a *Adapter) NumTrainable() int {
	n := 0
	for _, p := range a.Params() {
		if p.G == nil {
			continue
		}
		if p.Train == nil {
			n += len(p.W)
			continue
		}
		for _, s := range p.Train {
			n += s.Hi - s.Lo
		}
	}
	return n
}
