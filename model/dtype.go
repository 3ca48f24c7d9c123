package model

import (
	"encoding/binary"
	"fmt"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

// BaseDtype is how the frozen base's matrices (linear weights, token embedding, LM head) are held
// in memory. Norms, biases and learned positions are always float32.
type BaseDtype string

const (
	// BaseAuto keeps a bfloat16 checkpoint's matrices in bfloat16 and widens every other dtype
	// (F16 included) to float32: the default.
	BaseAuto BaseDtype = ""
	// BaseF32 widens every matrix to float32 at load (the behaviour before bf16 storage).
	BaseF32 BaseDtype = "f32"
	// BaseBF16 holds the matrices in bfloat16 whatever the checkpoint's dtype: float32 and
	// float16 values are rounded to the nearest bfloat16, ties to even (as torch's .to(bfloat16));
	// values past the largest bfloat16 become ±Inf, a NaN stays NaN.
	BaseBF16 BaseDtype = "bf16"
	// BaseQ8 holds the linear weights in GGUF's Q8_0 blocks (Q8: 32 int8 values and one f16
	// scale each, about 1.06 bytes a value), quantised from the checkpoint's values; the
	// embedding and LM head as with BaseBF16. A weight whose input width is not a multiple of 32
	// stays bfloat16.
	BaseQ8 BaseDtype = "q8"
)

// BaseDtypes lists the accepted values of --base-dtype (BaseAuto spelled "auto").
var BaseDtypes = []string{"auto", "f32", "bf16", "q8"}

// ParseBaseDtype reads a --base-dtype value: auto, f32 or bf16.
func ParseBaseDtype(s string) (BaseDtype, error) {
	switch s {
	case "", "auto":
		return BaseAuto, nil
	case "f32", "float32":
		return BaseF32, nil
	case "bf16", "bfloat16":
		return BaseBF16, nil
	case "q8", "q8_0":
		return BaseQ8, nil
	}
	return "", fmt.Errorf("unknown base dtype %q (expected auto, f32, bf16 or q8)", s)
}

// LoadOptions are the choices of LoadWith.
type LoadOptions struct {
	Base BaseDtype // storage of the frozen base's matrices
}

// byteSource is the optional part of a Source that gives a tensor's little-endian bytes without
// conversion (safetensors.Set), so bf16 weights are read without a float32 copy.
type byteSource interface {
	Bytes(name string) ([]byte, *safetensors.Info, error)
}

// keepsBF16 reports whether a matrix stored as dt in the checkpoint is held in bfloat16.
func (o LoadOptions) keepsBF16(dt safetensors.DType) bool {
	return o.Base == BaseBF16 || o.Base == BaseQ8 || (o.Base == BaseAuto && dt == safetensors.BF16)
}

// readBF16 reads a tensor as bfloat16 bit patterns: a BF16 tensor's own bits, any other dtype
// rounded to the nearest bfloat16 (ties to even).
func readBF16(src Source, name string) ([]uint16, error) {
	if info := src.Info(name); info != nil && info.DType == safetensors.BF16 {
		if bs, ok := src.(byteSource); ok {
			b, _, err := bs.Bytes(name)
			if err != nil {
				return nil, err
			}
			h := make([]uint16, len(b)/2)
			for i := range h {
				h[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
			return h, nil
		}
	}
	v, _, err := src.Float32(name)
	if err != nil {
		return nil, err
	}
	h := make([]uint16, len(v))
	for i, f := range v {
		h[i] = safetensors.Float32ToBF16(f)
	}
	return h, nil
}

// widenBF16 returns the float32 values of bfloat16 bit patterns (exact).
func widenBF16(h []uint16) []float32 {
	w := make([]float32, len(h))
	for i, x := range h {
		w[i] = gemm.BF16ToFloat32(x)
	}
	return w
}

// Widen converts a bfloat16-held weight to float32 in place (W set, W16 dropped); a no-op when W
// is already float32. Full fine-tuning and merging an adapter into the base call it: a trained or
// merged weight is float32.
func (l *Linear) Widen() {
	if l.W16 != nil {
		l.W, l.W16 = widenBF16(l.W16), nil
	}
	if l.WQ != nil {
		l.W = make([]float32, len(l.WQ.Q))
		l.WQ.dequantize(l.W)
		l.WQ = nil
	}
}

// Widen is Linear.Widen for a base tensor (the token embedding and the LM head).
func (p *Param) Widen() {
	if p.W16 != nil {
		p.W, p.W16 = widenBF16(p.W16), nil
	}
}

// Widen converts every bfloat16-held matrix of the model to float32.
func (m *Model) Widen() {
	m.Embed.Widen()
	m.LMHead.Widen()
	for _, l := range m.Linears() {
		l.Widen()
	}
}

// Narrow holds every float32 matrix of the model (linear weights, embedding, LM head) in bfloat16,
// rounded to nearest even as BaseBF16 does at load: for a model built in memory (NewRandom). It
// is an error after EnableFullGrads (trained weights stay float32).
func (m *Model) Narrow() error {
	if m.grads {
		return fmt.Errorf("model: cannot hold trained (full fine-tuning) weights in bf16")
	}
	narrow := func(w *[]float32, w16 *[]uint16) {
		if *w == nil {
			return
		}
		h := make([]uint16, len(*w))
		for i, f := range *w {
			h[i] = safetensors.Float32ToBF16(f)
		}
		*w, *w16 = nil, h
	}
	narrow(&m.Embed.W, &m.Embed.W16)
	narrow(&m.LMHead.W, &m.LMHead.W16)
	for _, l := range m.Linears() {
		narrow(&l.W, &l.W16)
	}
	return nil
}

// BaseBytes is the memory the base's weights take: 4 bytes a float32 value, 2 a bfloat16 one
// (tied tensors counted once).
func (m *Model) BaseBytes() int64 {
	var n int64
	for _, p := range m.Params() {
		n += 4*int64(len(p.W)) + 2*int64(len(p.W16))
	}
	for _, l := range m.Linears() {
		if l.WQ != nil {
			n += l.WQ.Bytes()
		}
	}
	return n
}

// sgemmB is gemm.Sgemm with B the tensor w (float32) or w16 (bfloat16, widened while packed):
// exactly one of them is non-nil, and the result has the same bits either way.
func sgemmB(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, w []float32, w16 []uint16, ldb int, beta float32, c []float32, ldc int) {
	if w16 != nil {
		gemm.SgemmBF16B(transA, transB, m, n, k, alpha, a, lda, w16, ldb, beta, c, ldc)
		return
	}
	gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, w, ldb, beta, c, ldc)
}

// sgemmRowwiseB is gemm.SgemmRowwise (c (m, n) = a·Bᵀ, a (m, k), B (n, k), packed strides) with B
// the tensor w (float32) or w16 (bfloat16): the same bits either way.
func sgemmRowwiseB(m, n, k int, a []float32, w []float32, w16 []uint16, c []float32) {
	if w16 != nil {
		gemm.SgemmRowwiseBF16B(m, n, k, 1, a, k, w16, k, 0, c, n)
		return
	}
	gemm.SgemmRowwise(m, n, k, 1, a, k, w, k, 0, c, n)
}

// embedRow copies row i (width c) of a (rows, c) tensor held as w or w16 into dst.
func embedRow(dst []float32, w []float32, w16 []uint16, i, c int) {
	if w16 != nil {
		for j, h := range w16[i*c : (i+1)*c] {
			dst[j] = gemm.BF16ToFloat32(h)
		}
		return
	}
	copy(dst, w[i*c:(i+1)*c])
}
