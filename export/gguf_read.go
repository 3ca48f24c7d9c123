package export

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// GGUFFile is a parsed GGUF file held in memory (meant for adapter-sized files and tests).
type GGUFFile struct {
	Path    string
	Version uint32
	KV      map[string]any // string, float32/64, (u)int8…64, bool, or []any for arrays
	Keys    []string       // KV keys in file order
	Tensors []GGUFTensorInfo

	data      []byte
	dataStart int
}

// GGUFTensorInfo describes one tensor: Dims are GGUF's ne (fastest-varying first).
type GGUFTensorInfo struct {
	Name   string
	Dims   []uint64
	Type   uint32
	Offset uint64 // from the start of the data section
}

// Shape returns the numpy-order shape (slowest first).
func (t GGUFTensorInfo) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[len(t.Dims)-1-i] = int(d)
	}
	return s
}

// ggufReader is a bounds-checked cursor over a file's bytes.
type ggufReader struct {
	b   []byte
	off int
	err error
}

func (r *ggufReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = fmt.Errorf("truncated at byte %d (need %d more bytes)", r.off, n)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *ggufReader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *ggufReader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (r *ggufReader) str() string {
	n := r.u64()
	if n > uint64(len(r.b)) {
		if r.err == nil {
			r.err = fmt.Errorf("string length %d at byte %d exceeds the file", n, r.off-8)
		}
		return ""
	}
	return string(r.take(int(n)))
}

// value reads one value of GGUF type typ.
func (r *ggufReader) value(typ uint32, depth int) any {
	switch typ {
	case ggufTypeUint8:
		if p := r.take(1); p != nil {
			return p[0]
		}
	case ggufTypeInt8:
		if p := r.take(1); p != nil {
			return int8(p[0])
		}
	case ggufTypeUint16:
		if p := r.take(2); p != nil {
			return binary.LittleEndian.Uint16(p)
		}
	case ggufTypeInt16:
		if p := r.take(2); p != nil {
			return int16(binary.LittleEndian.Uint16(p))
		}
	case ggufTypeUint32:
		return r.u32()
	case ggufTypeInt32:
		return int32(r.u32())
	case ggufTypeFloat32:
		return math.Float32frombits(r.u32())
	case ggufTypeBool:
		if p := r.take(1); p != nil {
			return p[0] != 0
		}
	case ggufTypeString:
		return r.str()
	case ggufTypeUint64:
		return r.u64()
	case ggufTypeInt64:
		return int64(r.u64())
	case ggufTypeFloat64:
		return math.Float64frombits(r.u64())
	case ggufTypeArray:
		et, n := r.u32(), r.u64()
		if depth > 4 || n > uint64(len(r.b)) {
			r.fail("array of %d elements (nesting %d) at byte %d is implausible", n, depth, r.off)
			return nil
		}
		out := make([]any, 0, min(n, 1<<16))
		for i := uint64(0); i < n && r.err == nil; i++ {
			out = append(out, r.value(et, depth+1))
		}
		return out
	default:
		r.fail("unknown value type %d at byte %d", typ, r.off)
	}
	return nil
}

func (r *ggufReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// ReadGGUF reads and validates a GGUF file (v2 or v3): header, key-values, tensor infos, and that
// every F32 tensor's data lies within the file.
func ReadGGUF(path string) (*GGUFFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	f, err := parseGGUF(b)
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

func parseGGUF(b []byte) (*GGUFFile, error) {
	r := &ggufReader{b: b}
	if string(r.take(4)) != ggufMagic {
		return nil, fmt.Errorf("not a GGUF file (magic %q)", b[:min(4, len(b))])
	}
	f := &GGUFFile{Version: r.u32(), KV: map[string]any{}, data: b}
	if f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("GGUF version %d, expected 2 or 3", f.Version)
	}
	nt, nkv := r.u64(), r.u64()
	if nt > uint64(len(b)) || nkv > uint64(len(b)) {
		return nil, fmt.Errorf("implausible counts: %d tensors, %d key-values", nt, nkv)
	}
	for i := uint64(0); i < nkv && r.err == nil; i++ {
		k := r.str()
		v := r.value(r.u32(), 0)
		if _, dup := f.KV[k]; dup {
			r.fail("duplicate key %q", k)
		}
		f.KV[k] = v
		f.Keys = append(f.Keys, k)
	}
	seen := map[string]bool{}
	for i := uint64(0); i < nt && r.err == nil; i++ {
		t := GGUFTensorInfo{Name: r.str()}
		nd := r.u32()
		if nd == 0 || nd > 4 {
			r.fail("tensor %q has %d dimensions, expected 1 to 4", t.Name, nd)
			break
		}
		for j := uint32(0); j < nd; j++ {
			t.Dims = append(t.Dims, r.u64())
		}
		t.Type, t.Offset = r.u32(), r.u64()
		if seen[t.Name] { // llama.cpp refuses duplicate tensor names too
			r.fail("duplicate tensor %q", t.Name)
			break
		}
		seen[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	align := uint64(ggufAlignment)
	if a, ok := f.KV["general.alignment"].(uint32); ok && a > 0 {
		align = uint64(a)
	}
	f.dataStart = int((uint64(r.off) + align - 1) / align * align)
	for _, t := range f.Tensors {
		n, ok := t.bytes()
		if !ok {
			continue // a type this reader does not know: its extent is not checked
		}
		if n == 0 || t.Offset%align != 0 || uint64(f.dataStart)+t.Offset+n > uint64(len(b)) {
			return nil, fmt.Errorf("tensor %q: %d bytes of %v at data offset %d do not fit the file (or are unaligned, or dims %v overflow)", t.Name, n, GGMLType(t.Type), t.Offset, t.Dims)
		}
	}
	return f, nil
}

// bytes is the data size of a tensor of a type this package knows (false otherwise, and 0 when
// its dimensions overflow or a row is not a whole number of blocks).
func (t GGUFTensorInfo) bytes() (uint64, bool) {
	if len(t.Dims) == 0 {
		return 0, false
	}
	if t.Dims[0] > math.MaxInt64/4 { // its row's byte count (4·n for F32) would overflow
		_, known := GGMLType(t.Type).rowBytes(q8BlockSize)
		return 0, known
	}
	n, ok := GGMLType(t.Type).rowBytes(t.Dims[0])
	if !ok {
		_, known := GGMLType(t.Type).rowBytes(q8BlockSize)
		return 0, known
	}
	for _, d := range t.Dims[1:] {
		if d != 0 && n > math.MaxInt64/d {
			return 0, true
		}
		n *= d
	}
	return n, true
}

// Values returns the values of a tensor of type F32, F16, BF16 or Q8_0 as float32, in numpy
// order (row-major over Shape()); 8-bit blocks are expanded to d·q.
func (f *GGUFFile) Values(name string) ([]float32, error) {
	t := f.Tensor(name)
	if t == nil {
		return nil, fmt.Errorf("export: %s: no tensor %q", f.Path, name)
	}
	nb, ok := t.bytes()
	if !ok {
		return nil, fmt.Errorf("export: %s: tensor %q has %v, which this reader does not decode", f.Path, name, GGMLType(t.Type))
	}
	n := 1
	for _, d := range t.Dims {
		n *= int(d)
	}
	start := f.dataStart + int(t.Offset)
	return decode(f.data[start:start+int(nb)], GGMLType(t.Type), n)
}

// Tensor returns the info of the named tensor, or nil.
func (f *GGUFFile) Tensor(name string) *GGUFTensorInfo {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

// Float32 returns the values of an F32 tensor in numpy order (row-major over Shape()).
func (f *GGUFFile) Float32(name string) ([]float32, error) {
	t := f.Tensor(name)
	if t == nil {
		return nil, fmt.Errorf("export: %s: no tensor %q", f.Path, name)
	}
	if t.Type != GGMLTypeF32 {
		return nil, fmt.Errorf("export: %s: tensor %q has ggml type %d, only F32 (0) is read", f.Path, name, t.Type)
	}
	n := 1
	for _, d := range t.Dims {
		n *= int(d)
	}
	p := f.data[f.dataStart+int(t.Offset):]
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return out, nil
}
