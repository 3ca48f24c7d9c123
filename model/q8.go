package model

import (
	"math"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

// Q8Block is the number of consecutive values (along a row of W) that share one scale.
const Q8Block = gemm.Q8Block

// QuantizeQ8 quantises w (len a multiple of 32) into GGUF's Q8_0 blocks (BaseQ8): each block of 32
// consecutive values of a row becomes 32 int8 quants Q and one scale D (f16 bit patterns, as GGUF
// stores it), standing for the values f16(D)·Q (gemm.Weights: products dequantise them while
// packing). Quantisation follows ggml's quantize_row_q8_0_ref bit for bit (export's quantizeQ8 is
// the same algorithm, checked by export's tests):
//
//	d = max|x| / 127,  id = 1/d (0 when d = 0),  q = round(x·id) (halves away from zero),  D = f16(d)
//
// so |x − f16(d)·q| ≤ d/2 + 127·|d − f16(d)|, with |d − f16(d)| ≤ max(d·2⁻¹¹, 2⁻²⁵) (2⁻²⁵: half
// an ulp of f16's subnormals, for blocks whose max|x| is under about 0.008).
func QuantizeQ8(w []float32) gemm.Q8 {
	q := gemm.Q8{Q: make([]int8, len(w)), D: make([]uint16, len(w)/Q8Block)}
	quantizeQ8At(q, 0, w)
	return q
}

// quantizeQ8At quantises w (len a multiple of 32) into the blocks of q that start at value off (a
// multiple of 32), so a weight can be quantised a chunk of rows at a time.
func quantizeQ8At(q gemm.Q8, off int, w []float32) {
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
