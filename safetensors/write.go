package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/moslora/moslora/internal/atomicfile"
)

// Tensor is a tensor to write.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte // little-endian elements, row-major; len = product(Shape)·DType.Size()
}

// FromFloat32 makes an F32 tensor; v is copied. v holds product(shape) values.
func FromFloat32(name string, shape []int, v []float32) Tensor {
	return FromFloat32As(name, shape, v, F32)
}

// FromFloat32As makes a tensor of the floating-point dtype dt (F32, BF16, F16 or F64), rounding
// to nearest even for BF16 and F16. v holds product(shape) values. Another dtype is a programmer
// error and panics.
func FromFloat32As(name string, shape []int, v []float32, dt DType) Tensor {
	t := Tensor{Name: name, DType: dt, Shape: append([]int{}, shape...)}
	switch dt {
	case F32:
		t.Data = make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(x))
		}
	case BF16:
		t.Data = make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToBF16(x))
		}
	case F16:
		t.Data = make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToF16(x))
		}
	case F64:
		t.Data = make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(float64(x)))
		}
	default:
		panic("safetensors: FromFloat32As: dtype " + string(dt) + " is not F32, BF16, F16 or F64")
	}
	return t
}

// FromInt64 makes an I64 tensor; v is copied. v holds product(shape) values.
func FromInt64(name string, shape []int, v []int64) Tensor {
	t := Tensor{Name: name, DType: I64, Shape: append([]int{}, shape...), Data: make([]byte, 8*len(v))}
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(x))
	}
	return t
}

// Float32 returns the tensor's values as float32 (a floating-point dtype is required).
func (t Tensor) Float32() ([]float32, error) { return ToFloat32(t.Data, t.DType) }

// check validates one tensor to write.
func (t *Tensor) check() error {
	switch {
	case t.Name == metadataKey:
		return fmt.Errorf("tensor name %q is reserved for metadata", t.Name)
	case t.Name == "":
		return errors.New("a tensor has an empty name")
	case !utf8.ValidString(t.Name):
		return fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
	case t.DType.Size() == 0:
		return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	elems := uint64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %q: negative dimension %d in shape %v", t.Name, d, t.Shape)
		}
		hi, lo := bits.Mul64(elems, uint64(d))
		if hi != 0 || lo > math.MaxInt64/8 {
			return fmt.Errorf("tensor %q: shape %v is too large", t.Name, t.Shape)
		}
		elems = lo
	}
	if want := elems * uint64(t.DType.Size()); want != uint64(len(t.Data)) {
		return fmt.Errorf("tensor %q: %s shape %v needs %d bytes of data, has %d", t.Name, t.DType, t.Shape, want, len(t.Data))
	}
	return nil
}

// checkAll validates tensors and metadata before anything is written.
func checkAll(tensors []Tensor, metadata map[string]string) error {
	seen := make(map[string]bool, len(tensors))
	for i := range tensors {
		if err := tensors[i].check(); err != nil {
			return err
		}
		if seen[tensors[i].Name] {
			return fmt.Errorf("tensor name %q appears twice", tensors[i].Name)
		}
		seen[tensors[i].Name] = true
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("metadata %q: %q is not valid UTF-8", k, v)
		}
	}
	return nil
}

// layout orders tensors as the reference writer does — larger elements first, then by name — so
// that, after the 8-byte-aligned header, every tensor starts at a multiple of its element size.
func layout(tensors []Tensor) []*Tensor {
	order := make([]*Tensor, len(tensors))
	for i := range tensors {
		order[i] = &tensors[i]
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.DType.Size() != b.DType.Size() {
			return a.DType.Size() > b.DType.Size()
		}
		return a.Name < b.Name
	})
	return order
}

// encodeHeader writes the JSON header of tensors in order: compact JSON, "__metadata__" first
// (sorted keys, omitted when empty), then the tensors in data order, padded with spaces to a
// multiple of 8 bytes.
func encodeHeader(order []*Tensor, metadata map[string]string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(metadata) > 0 {
		writeJSONString(&b, metadataKey)
		b.WriteString(":{")
		for i, k := range sortedKeys(metadata) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, metadata[k])
		}
		b.WriteByte('}')
	}
	var off int64
	for i, t := range order {
		if i > 0 || len(metadata) > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, t.Name)
		b.WriteString(`:{"dtype":`)
		writeJSONString(&b, string(t.DType))
		b.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := off + int64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// writeJSONString writes s as a JSON string without HTML escaping (s is valid UTF-8).
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           // cannot fail for a string
	b.Truncate(b.Len() - 1) // the newline Encode adds
}

// Write writes tensors and metadata (may be nil) as a safetensors image to w, after validating
// them: unique non-empty names, known dtypes, non-negative dimensions and len(Data) =
// product(Shape)·dtype size.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	if err := checkAll(tensors, metadata); err != nil {
		return fmt.Errorf("safetensors: %v", err)
	}
	order := layout(tensors)
	hdr := encodeHeader(order, metadata)
	if len(hdr) > MaxHeaderSize {
		return fmt.Errorf("safetensors: header of %d bytes exceeds the limit of %d", len(hdr), MaxHeaderSize)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, t := range order {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes tensors and metadata (may be nil) to path atomically: into a temporary file in
// the same folder, synced to disk, then renamed over path. See Write for the checks.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	if err := checkAll(tensors, metadata); err != nil {
		return fmt.Errorf("safetensors: %s: %v", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error { return Write(w, tensors, metadata) })
}

// writeAtomic writes path through a temporary file in its folder, fsync and rename (see
// internal/atomicfile).
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, func(w *bufio.Writer) error { return write(w) }); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	return nil
}
