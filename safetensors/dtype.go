package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType names a tensor element type as spelled in safetensors headers.
type DType string

const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	F8E4M3 DType = "F8_E4M3" // OCP E4M3FN: bias 7, no infinities, S.1111.111 is NaN
	F8E5M2 DType = "F8_E5M2" // the top byte of an IEEE half
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	Bool   DType = "BOOL"
)

// Size is the element size in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case F8E4M3, F8E5M2, I8, U8, Bool:
		return 1
	}
	return 0
}

// IsFloat reports whether ToFloat32 converts d.
func (d DType) IsFloat() bool {
	switch d {
	case F64, F32, F16, BF16, F8E4M3, F8E5M2:
		return true
	}
	return false
}

// ToFloat32 converts little-endian floating-point bytes of the given dtype (F64, F32, F16, BF16,
// F8_E4M3, F8_E5M2) to float32. F64 is rounded to nearest; the others widen exactly.
// Trailing bytes that do not fill a whole element are ignored.
func ToFloat32(buf []byte, dt DType) ([]float32, error) {
	if !dt.IsFloat() {
		return nil, fmt.Errorf("dtype %s is not a floating-point type", dt)
	}
	out := make([]float32, len(buf)/dt.Size())
	switch dt {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BF16ToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
		}
	case F16:
		for i := range out {
			out[i] = F16ToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:])))
		}
	case F8E4M3:
		for i := range out {
			out[i] = F8E4M3ToFloat32(buf[i])
		}
	case F8E5M2:
		for i := range out {
			out[i] = F16ToFloat32(uint16(buf[i]) << 8)
		}
	}
	return out, nil
}

// BF16ToFloat32 widens a bfloat16 bit pattern exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 rounds to nearest, ties to even (as torch does); values past the largest bfloat16
// round to ±Inf and a NaN stays a (quiet) NaN.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and non-zero
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F16ToFloat32 widens an IEEE half-precision bit pattern exactly.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: value = man · 2^-24
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// Float32ToF16 rounds to the nearest IEEE half (ties to even); values from 65520 up in magnitude
// become ±Inf, a NaN becomes the quiet NaN 0x7e00 (with its sign).
func Float32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Half subnormal: the value in units of 2^-24 is (1.man)·2^(e-1+10) = m >> (14-e).
		if e < -10 {
			return sign // below half the smallest subnormal (2^-25): rounds to zero
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++ // may carry into the smallest normal 0x0400, which is right
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, up to 0x7c00 = Inf, which is right
	}
	return sign | uint16(r)
}

// F8E4M3ToFloat32 widens an OCP float8 E4M3FN byte exactly (bias 7, no infinities; S.1111.111 is
// NaN).
func F8E4M3ToFloat32(b uint8) float32 {
	exp := int(b>>3) & 0xf
	man := float32(b & 7)
	var v float32
	switch {
	case exp == 0xf && b&7 == 7:
		v = float32(math.NaN())
	case exp == 0:
		v = man * (1.0 / 512) // man · 2^-9
	default:
		v = float32(math.Ldexp(float64(8+man), exp-10)) // (1 + man/8) · 2^(exp-7)
	}
	if b&0x80 != 0 {
		v = -v
	}
	return v
}
