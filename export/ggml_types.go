package export

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/moslora/moslora/safetensors"
)

// GGMLType is a ggml tensor type id as stored in a GGUF tensor info (ggml.h's enum ggml_type).
type GGMLType uint32

// The ggml tensor types this package writes.
const (
	GGMLF32  GGMLType = 0
	GGMLF16  GGMLType = 1
	GGMLQ8_0 GGMLType = 8
	GGMLBF16 GGMLType = 30
)

// q8BlockSize is the number of weights in one Q8_0 block (ggml's QK8_0); a block is stored as
// an f16 scale d followed by 32 int8 quants q, the weights being d·q.
const (
	q8BlockSize  = 32
	q8BlockBytes = 2 + q8BlockSize
)

func (t GGMLType) String() string {
	switch t {
	case GGMLF32:
		return "F32"
	case GGMLF16:
		return "F16"
	case GGMLQ8_0:
		return "Q8_0"
	case GGMLBF16:
		return "BF16"
	}
	return fmt.Sprintf("ggml type %d", uint32(t))
}

// rowBytes returns the bytes of a row of n values of type t (n a multiple of the block size for
// Q8_0), or false for a type this package does not know.
func (t GGMLType) rowBytes(n uint64) (uint64, bool) {
	switch t {
	case GGMLF32:
		return 4 * n, true
	case GGMLF16, GGMLBF16:
		return 2 * n, true
	case GGMLQ8_0:
		if n%q8BlockSize != 0 {
			return 0, false
		}
		return n / q8BlockSize * q8BlockBytes, true
	}
	return 0, false
}

// appendEncoded appends x (a whole number of rows) encoded as type t to dst: F32 as is, F16 and
// BF16 rounded to nearest even (numpy's astype(float16) and gguf-py's BF16 quantizer), Q8_0 with
// quantizeQ8.
func appendEncoded(dst []byte, x []float32, t GGMLType) []byte {
	le := binary.LittleEndian
	switch t {
	case GGMLF32:
		for _, v := range x {
			dst = le.AppendUint32(dst, math.Float32bits(v))
		}
	case GGMLF16:
		for _, v := range x {
			dst = le.AppendUint16(dst, safetensors.Float32ToF16(v))
		}
	case GGMLBF16:
		for _, v := range x {
			dst = le.AppendUint16(dst, safetensors.Float32ToBF16(v))
		}
	case GGMLQ8_0:
		for i := 0; i < len(x); i += q8BlockSize {
			dst = quantizeQ8(dst, x[i:i+q8BlockSize])
		}
	default:
		panic("export: appendEncoded: unknown ggml type")
	}
	return dst
}

// decode converts data of type t back to float32 (the inverse of appendEncoded up to rounding).
func decode(data []byte, t GGMLType, n int) ([]float32, error) {
	le := binary.LittleEndian
	out := make([]float32, n)
	switch t {
	case GGMLF32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
	case GGMLF16:
		for i := range out {
			out[i] = safetensors.F16ToFloat32(le.Uint16(data[2*i:]))
		}
	case GGMLBF16:
		for i := range out {
			out[i] = safetensors.BF16ToFloat32(le.Uint16(data[2*i:]))
		}
	case GGMLQ8_0:
		for b := 0; b < n/q8BlockSize; b++ {
			blk := data[b*q8BlockBytes:]
			d := safetensors.F16ToFloat32(le.Uint16(blk))
			for j := 0; j < q8BlockSize; j++ {
				out[b*q8BlockSize+j] = d * float32(int8(blk[2+j]))
			}
		}
	default:
		return nil, fmt.Errorf("cannot decode %v", t)
	}
	return out, nil
}
