package export

import (
	"encoding/binary"
	"math"

	"github.com/moslora/moslora/safetensors"
)

// quantizeQ8 appends one Q8_0 block of the 32 values x to dst, bit for bit as ggml's
// quantize_row_q8_0_ref and gguf-py's quants.Q8_0 compute it:
//
//	d  = max|x| / 127            (float32)
//	id = 1/d, or 0 when d = 0    (float32)
//	q  = round(x·id)             (half away from zero, as C roundf), stored as int8
//
// followed by d rounded to f16 (stored first). The weights the block stands for are f16(d)·q.
func quantizeQ8(dst []byte, x []float32) []byte {
	if len(x) != q8BlockSize {
		panic("export: quantizeQ8: a block holds 32 values")
	}
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	dst = binary.LittleEndian.AppendUint16(dst, safetensors.Float32ToF16(d))
	for _, v := range x {
		dst = append(dst, byte(int8(roundHalfAway(v*id))))
	}
	return dst
}

// roundHalfAway is C's roundf: to the nearest integer, halves away from zero.
func roundHalfAway(v float32) float32 {
	return float32(math.Round(float64(v)))
}
