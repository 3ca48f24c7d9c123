package model

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

// BaseDtype is how the frozen base's matrices (linear weights, token embedding, LM head) are held
// in memory. Norms, biases and learned positions are always float32.
type BaseDtype string

const (
	// BaseAuto keeps a bfloat16 checkpoint's matrices in bfloat16 and a float16 one's in IEEE
	// half, and widens every other dtype to float32: the default.
	BaseAuto BaseDtype = ""
	// BaseF32 widens every matrix to float32 at load (the behaviour before 16-bit storage).
	BaseF32 BaseDtype = "f32"
	// BaseBF16 holds the matrices in bfloat16 whatever the checkpoint's dtype: float32 and
	// float16 values are rounded to the nearest bfloat16, ties to even (as torch's .to(bfloat16));
	// values past the largest bfloat16 become ±Inf, a NaN stays NaN.
	BaseBF16 BaseDtype = "bf16"
	// BaseF16 holds the matrices in IEEE half whatever the checkpoint's dtype: float32 and
	// bfloat16 values are rounded to the nearest half, ties to even (as torch's .to(float16));
	// values of magnitude 65520 and more become ±Inf, values under 2⁻²⁵ ±0, smaller ones than
	// 2⁻¹⁴ lose precision as half subnormals, a NaN stays NaN.
	BaseF16 BaseDtype = "f16"
	// BaseQ8 holds the linear weights in GGUF's Q8_0 blocks (Q8: 32 int8 values and one f16
	// scale each, about 1.06 bytes a value), quantised from the checkpoint's values; the
	// embedding and LM head as with BaseBF16. A weight whose input width is not a multiple of 32
	// stays bfloat16.
	BaseQ8 BaseDtype = "q8"
)

// BaseDtypes lists the accepted values of --base-dtype (BaseAuto spelled "auto").
var BaseDtypes = []string{"auto", "f32", "bf16", "f16", "q8"}

// ParseBaseDtype reads a --base-dtype value: auto, f32, bf16, f16 or q8.
func ParseBaseDtype(s string) (BaseDtype, error) {
	switch s {
	case "", "auto":
		return BaseAuto, nil
	case "f32", "float32":
		return BaseF32, nil
	case "bf16", "bfloat16":
		return BaseBF16, nil
	case "f16", "float16", "half":
		return BaseF16, nil
	case "q8", "q8_0":
		return BaseQ8, nil
	}
	return "", fmt.Errorf("unknown base dtype %q (expected auto, f32, bf16, f16 or q8)", s)
}

// LoadOptions are the choices of LoadWith.
type LoadOptions struct {
	Base BaseDtype // storage of the frozen base's matrices
}

// held is the in-memory form of one tensor of a spec.
type held int

const (
	heldF32  held = iota // float32 (norms, biases, positions; matrices of an f32 base)
	heldBF16             // bfloat16 bit patterns (Frozen.BF16)
	heldF16              // IEEE half bit patterns (Frozen.F16)
	heldQ8               // Q8_0 blocks (Frozen.Q8)
)

// heldAs is how spec s of a checkpoint whose tensors are of dtype dt is held.
func (o LoadOptions) heldAs(s tensorSpec, dt safetensors.DType) held {
	switch {
	case s.frozen == nil:
		return heldF32
	case s.linear && o.Base == BaseQ8 && inWidth(s)%Q8Block == 0:
		return heldQ8
	case o.Base == BaseBF16 || o.Base == BaseQ8 || (o.Base == BaseAuto && dt == safetensors.BF16):
		return heldBF16
	case o.Base == BaseF16 || (o.Base == BaseAuto && dt == safetensors.F16):
		return heldF16
	}
	return heldF32
}

// dtype is the checkpoint dtype of a 16-bit held form, round its rounding from float32.
func (h held) dtype() (dt safetensors.DType, round func(float32) uint16) {
	if h == heldF16 {
		return safetensors.F16, safetensors.Float32ToF16
	}
	return safetensors.BF16, safetensors.Float32ToBF16
}

// set stores 16-bit patterns u as the form h (heldBF16 or heldF16) of w.
func (h held) set(w *gemm.Weights, u []uint16) {
	if h == heldF16 {
		*w = gemm.Weights{F16: u}
		return
	}
	*w = gemm.Weights{BF16: u}
}

// byteSource is the optional part of a Source that gives a tensor's little-endian bytes without
// conversion (safetensors.Set), so 16-bit weights are read without a float32 copy.
type byteSource interface {
	Bytes(name string) ([]byte, *safetensors.Info, error)
}

// readHalf reads a tensor as the 16-bit patterns of h (heldBF16 or heldF16): a tensor of that
// dtype's own bits, any other dtype's values rounded to nearest even — element by element from
// the checkpoint's bytes where the source gives them (F32, BF16, F16: no float32 copy of the
// tensor), else through its float32 values.
func readHalf(src Source, name string, h held) ([]uint16, error) {
	dt, round := h.dtype()
	info := src.Info(name)
	bs, ok := src.(byteSource)
	if ok && info != nil && (info.DType == dt || info.DType == safetensors.BF16 || info.DType == safetensors.F16 || info.DType == safetensors.F32) {
		b, _, err := bs.Bytes(name)
		if err != nil {
			return nil, err
		}
		size := info.DType.Size()
		u := make([]uint16, len(b)/size)
		for i := range u {
			switch {
			case info.DType == dt:
				u[i] = binary.LittleEndian.Uint16(b[2*i:])
			case info.DType == safetensors.F32:
				u[i] = round(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
			case info.DType == safetensors.BF16:
				u[i] = round(safetensors.BF16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
			default:
				u[i] = round(safetensors.F16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
			}
		}
		return u, nil
	}
	v, _, err := src.Float32(name)
	if err != nil {
		return nil, err
	}
	u := make([]uint16, len(v))
	for i, f := range v {
		u[i] = round(f)
	}
	return u, nil
}

// weights is the layer's weight as a GEMM operand: W, or the storage that holds it.
func (l *Linear) weights() gemm.Weights {
	if l.W != nil {
		return gemm.Weights{F32: l.W}
	}
	return l.Frozen
}

// weights is the tensor as a GEMM operand: W, or the storage that holds it.
func (p *Param) weights() gemm.Weights {
	if p.W != nil {
		return gemm.Weights{F32: p.W}
	}
	return p.Frozen
}

// widened returns the float32 values of a frozen matrix (exact for bf16 and f16; Q8's
// f16(scale)·q, the values its products use).
func widened(w gemm.Weights) []float32 {
	v := make([]float32, w.Len())
	w.Decode(v, 0)
	return v
}

// Widen converts a weight held in bf16, f16 or Q8_0 to float32 in place (W set, Frozen emptied);
// a no-op when W is already float32. Full fine-tuning and merging an adapter into the base call
// it: a trained or merged weight is float32.
func (l *Linear) Widen() {
	if l.W == nil {
		l.W, l.Frozen = widened(l.Frozen), gemm.Weights{}
	}
}

// Widen is Linear.Widen for a base tensor (the token embedding and the LM head).
func (p *Param) Widen() {
	if p.W == nil {
		p.W, p.Frozen = widened(p.Frozen), gemm.Weights{}
	}
}

// Widen converts every matrix of the model held in 16 or 8 bits to float32.
func (m *Model) Widen() {
	m.Embed.Widen()
	m.LMHead.Widen()
	for _, l := range m.Linears() {
		l.Widen()
	}
}

// Narrow holds every float32 matrix of the model (linear weights, embedding, LM head) in bfloat16
// (BaseBF16) or IEEE half (BaseF16), rounded to nearest even as at load: for a model built in
// memory (NewRandom). It is an error after EnableFullGrads (trained weights stay float32).
func (m *Model) Narrow(to BaseDtype) error {
	if m.grads {
		return fmt.Errorf("model: cannot hold trained (full fine-tuning) weights in %s", to)
	}
	h := heldBF16
	switch to {
	case BaseBF16:
	case BaseF16:
		h = heldF16
	default:
		return fmt.Errorf("model: Narrow holds matrices in bf16 or f16, not %q", to)
	}
	_, round := h.dtype()
	narrow := func(w *[]float32, frozen *gemm.Weights) {
		if *w == nil {
			return
		}
		u := make([]uint16, len(*w))
		for i, f := range *w {
			u[i] = round(f)
		}
		*w = nil
		h.set(frozen, u)
	}
	narrow(&m.Embed.W, &m.Embed.Frozen)
	narrow(&m.LMHead.W, &m.LMHead.Frozen)
	for _, l := range m.Linears() {
		narrow(&l.W, &l.Frozen)
	}
	return nil
}

// BaseBytes is the memory the base's weights take: 4 bytes a float32 value, 2 a bfloat16 or f16
// one, about 1.06 a Q8_0 one (tied tensors counted once).
func (m *Model) BaseBytes() int64 {
	var n int64
	for _, p := range m.Params() {
		n += 4*int64(len(p.W)) + p.Frozen.Bytes()
	}
	return n
}

// embedRow copies row i (width c) of a (rows, c) tensor, in whatever storage, into dst.
func embedRow(dst []float32, p *Param, i, c int) {
	p.weights().Decode(dst[:c], i*c)
}
