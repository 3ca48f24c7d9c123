package model

import (
	"math"
	"sync"

	"github.com/moslora/moslora/safetensors"
)

// Q8Block is the number of consecutive values (along a row of W) that share one scale.
const Q8Block = 32

// Q8 is a frozen (Out, In) weight in GGUF's Q8_0 layout (BaseQ8): each block of 32 consecutive
// values of a row is 32 int8 quants Q and one scale D (f16 bit patterns, as GGUF stores it),
// standing for the values f16(D)·Q. Quantisation follows ggml's quantize_row_q8_0_ref bit for
// bit (export's quantizeQ8 is the same algorithm, checked by export's tests):
//
//	d = max|x| / 127,  id = 1/d (0 when d = 0),  q = round(x·id) (halves away from zero),  D = f16(d)
//
// so |x − f16(d)·q| ≤ d/2 + 127·|d − f16(d)|, with |d − f16(d)| ≤ max(d·2⁻¹¹, 2⁻²⁵) (2⁻²⁵: half
// an ulp of f16's subnormals, for blocks whose max|x| is under about 0.008).
type Q8 struct {
	Q []int8   // (Out·In) quants, row-major like W
	D []uint16 // (Out·In/32) f16 scales, block b covering Q[32b : 32b+32]
}

// QuantizeQ8 quantises w (len a multiple of 32) into Q8_0 blocks.
func QuantizeQ8(w []float32) *Q8 {
	q := &Q8{Q: make([]int8, len(w)), D: make([]uint16, len(w)/Q8Block)}
	q.quantizeAt(0, w)
	return q
}

// quantizeAt quantises w (len a multiple of 32) into the blocks that start at value off (a
// multiple of 32), so a weight can be quantised a chunk of rows at a time.
func (q *Q8) quantizeAt(off int, w []float32) {
	for i := 0; i < len(w)/Q8Block; i++ {
		b := off/Q8Block + i
		x := w[i*Q8Block : (i+1)*Q8Block]
		var amax float32
		for _, v := range x {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		q.D[b] = safetensors.Float32ToF16(d)
		for j, v := range x {
			q.Q[b*Q8Block+j] = int8(math.Round(float64(v * id)))
		}
	}
}

// dequantize writes the float32 values f16(D)·Q into dst (len(q.Q)).
func (q *Q8) dequantize(dst []float32) {
	for b, h := range q.D {
		d := safetensors.F16ToFloat32(h)
		s, o := q.Q[b*Q8Block:(b+1)*Q8Block], dst[b*Q8Block:(b+1)*Q8Block]
		for i, v := range s {
			o[i] = d * float32(v)
		}
	}
}

// Bytes is the memory the weight takes: one byte a value and two a block.
func (q *Q8) Bytes() int64 { return int64(len(q.Q)) + 2*int64(len(q.D)) }

// q8Scratch holds float32 buffers for dequantised weights (one per concurrent product).
var q8Scratch sync.Pool

// withDequantized calls f with l's Q8 weight dequantised to float32 (Out, In) in a pooled buffer.
// The weight is dequantised whole before each product rather than while the GEMM packs it: the
// memory saving holds (one layer's float32 copy at a time), the extra pass over it is the cost.
func (l *Linear) withDequantized(f func(w []float32)) {
	n := len(l.WQ.Q)
	var buf []float32
	if p, ok := q8Scratch.Get().(*[]float32); ok && cap(*p) >= n {
		buf = (*p)[:n]
	} else {
		buf = make([]float32, n)
	}
	l.WQ.dequantize(buf)
	f(buf)
	q8Scratch.Put(&buf)
}
