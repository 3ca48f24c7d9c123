package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
)

// DType names a tensor element type as spelled in safetensors headers.
type DType string

const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size is the element size in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// MaxHeaderSize bounds the JSON header (the reference implementation uses 100 MB).
const MaxHeaderSize = 100 << 20

// Info describes one tensor in a file.
type Info struct {
	Name  string
	DType DType
	Shape []int
	// Begin, End are byte offsets relative to the start of the data section.
	Begin, End int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t *Info) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is an open safetensors file whose header has been validated.
type File struct {
	Path     string
	Metadata map[string]string
	r        io.ReaderAt
	closer   io.Closer
	dataOff  int64
	infos    map[string]*Info
	names    []string // sorted
}

// Open opens path and validates its header. Tensor data is read on demand.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := NewReader(path, fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// NewReader validates the header of a safetensors image of the given size read through r; name is
// used in error messages.
func NewReader(name string, r io.ReaderAt, size int64) (*File, error) {
	fail := func(format string, a ...any) (*File, error) {
		return nil, fmt.Errorf("safetensors: %s: "+format, append([]any{name}, a...)...)
	}
	if size < 8 {
		return fail("file is %d bytes, too short for the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return fail("reading header length: %v", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return fail("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return fail("header length %d runs past the end of the file (%d bytes)", n, size)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return fail("reading header: %v", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return fail("header is not a JSON object: %v", err)
	}
	if raw == nil {
		return fail("header is not a JSON object")
	}
	f := &File{Path: name, r: r, dataOff: 8 + int64(n), infos: make(map[string]*Info, len(raw))}
	dataLen := size - f.dataOff
	for key, msg := range raw {
		if key == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return fail("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var e struct {
			DType   *string  `json:"dtype"`
			Shape   *[]int64 `json:"shape"`
			Offsets *[]int64 `json:"data_offsets"`
		}
		d := json.NewDecoder(bytes.NewReader(msg))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return fail("tensor %q: bad entry: %v", key, err)
		}
		if e.DType == nil || e.Shape == nil || e.Offsets == nil {
			return fail("tensor %q: entry needs dtype, shape and data_offsets", key)
		}
		dt := DType(*e.DType)
		if dt.Size() == 0 {
			return fail("tensor %q: unsupported dtype %q", key, *e.DType)
		}
		if len(*e.Offsets) != 2 {
			return fail("tensor %q: data_offsets must have 2 entries, has %d", key, len(*e.Offsets))
		}
		begin, end := (*e.Offsets)[0], (*e.Offsets)[1]
		if begin < 0 || end < begin || end > dataLen {
			return fail("tensor %q: data_offsets [%d, %d] outside the data section of %d bytes", key, begin, end, dataLen)
		}
		elems := uint64(1)
		shape := make([]int, len(*e.Shape))
		for i, s := range *e.Shape {
			if s < 0 {
				return fail("tensor %q: negative dimension %d in shape %v", key, s, *e.Shape)
			}
			hi, lo := bits.Mul64(elems, uint64(s))
			if hi != 0 || lo > math.MaxInt32*uint64(1<<16) {
				return fail("tensor %q: shape %v is too large", key, *e.Shape)
			}
			elems = lo
			shape[i] = int(s)
		}
		if want := elems * uint64(dt.Size()); want != uint64(end-begin) {
			return fail("tensor %q: %s shape %v needs %d bytes but data_offsets give %d", key, dt, shape, want, end-begin)
		}
		f.infos[key] = &Info{Name: key, DType: dt, Shape: shape, Begin: begin, End: end}
		f.names = append(f.names, key)
	}
	sort.Strings(f.names)
	// No overlaps: sort by begin and check neighbours (empty tensors overlap nothing).
	byBegin := make([]*Info, 0, len(f.infos))
	for _, t := range f.infos {
		if t.End > t.Begin {
			byBegin = append(byBegin, t)
		}
	}
	sort.Slice(byBegin, func(i, j int) bool { return byBegin[i].Begin < byBegin[j].Begin })
	for i := 1; i < len(byBegin); i++ {
		if byBegin[i].Begin < byBegin[i-1].End {
			return fail("tensors %q and %q overlap", byBegin[i-1].Name, byBegin[i].Name)
		}
	}
	return f, nil
}

// Close releases the underlying file.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// Names lists the tensor names in sorted order.
func (f *File) Names() []string { return f.names }

// Info returns the description of a tensor, or nil if absent.
func (f *File) Info(name string) *Info { return f.infos[name] }

// Raw reads the bytes of a tensor.
func (f *File) Raw(name string) ([]byte, *Info, error) {
	t := f.infos[name]
	if t == nil {
		return nil, nil, fmt.Errorf("safetensors: %s: no tensor %q", f.Path, name)
	}
	buf := make([]byte, t.End-t.Begin)
	if _, err := f.r.ReadAt(buf, f.dataOff+t.Begin); err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: reading tensor %q: %v", f.Path, name, err)
	}
	return buf, t, nil
}

// Float32 reads a floating-point tensor (F32, F16, BF16 or F64) converted to float32.
func (f *File) Float32(name string) ([]float32, *Info, error) {
	buf, t, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := ToFloat32(buf, t.DType)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %v", f.Path, name, err)
	}
	return out, t, nil
}

// Int64 reads an integer tensor (I64, I32, I16, I8, U8) widened to int64.
func (f *File) Int64(name string) ([]int64, *Info, error) {
	buf, t, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	n := t.NumElements()
	out := make([]int64, n)
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(buf[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(buf[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(buf[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(buf[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(buf[i])
		}
	default:
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q has dtype %s, expected an integer dtype", f.Path, name, t.DType)
	}
	return out, t, nil
}

// ToFloat32 converts little-endian floating-point bytes of the given dtype to float32.
func ToFloat32(buf []byte, dt DType) ([]float32, error) {
	switch dt {
	case F32:
		out := make([]float32, len(buf)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		return out, nil
	case BF16:
		out := make([]float32, len(buf)/2)
		for i := range out {
			out[i] = BF16ToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
		}
		return out, nil
	case F16:
		out := make([]float32, len(buf)/2)
		for i := range out {
			out[i] = F16ToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
		}
		return out, nil
	case F64:
		out := make([]float32, len(buf)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not a floating-point type", dt)
}

// BF16ToFloat32 widens a bfloat16 bit pattern exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 rounds to nearest even (NaN stays NaN), as torch does.
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

// Float32ToF16 rounds to the nearest IEEE half (ties to even), saturating to ±Inf.
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
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}
