package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Info describes one tensor in a file.
type Info struct {
	Name  string
	DType DType
	Shape []int
	// Begin, End are byte offsets relative to the start of the data section.
	Begin, End int64
}

// NumElements is the product of the shape (1 for a scalar). The header check guarantees it does
// not overflow.
func (t *Info) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is an open safetensors file whose header has been validated. Its methods are safe for
// concurrent use, except Close.
type File struct {
	Path     string
	Metadata map[string]string
	r        io.ReaderAt // the whole image; nil when data is set
	data     []byte      // the whole image when memory-mapped or built from bytes; else nil
	unmap    func() error
	closer   io.Closer
	closed   bool
	dataOff  int64
	infos    map[string]*Info
	names    []string // sorted
}

// Open opens path and validates its header. On unix the file is memory-mapped read-only, so tensor
// bytes are paged in on demand and Bytes returns views without copying; elsewhere (or when the
// mapping fails) tensors are read on demand with ReadAt.
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
	if !st.Mode().IsRegular() {
		fh.Close()
		return nil, fmt.Errorf("safetensors: %s: not a regular file", path)
	}
	size := st.Size()
	if size >= 8 {
		if data, err := mmapFile(fh, size); err == nil {
			fh.Close() // the mapping outlives the descriptor
			f, err := FromBytes(path, data)
			if err != nil {
				munmap(data)
				return nil, err
			}
			f.unmap = func() error { return munmap(data) }
			return f, nil
		}
	}
	f, err := NewReader(path, fh, size)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// NewReader validates the header of a safetensors image of the given size read through r; name is
// used in error messages. Tensor bytes are read through r on demand.
func NewReader(name string, r io.ReaderAt, size int64) (*File, error) {
	f, err := newFile(name, size, func(p []byte, off int64) error { return readFull(r, p, off) })
	if err != nil {
		return nil, err
	}
	f.r = r
	return f, nil
}

// FromBytes validates the safetensors image data; name is used in error messages. Bytes returns
// views into data, which the caller must not modify while the File is in use.
func FromBytes(name string, data []byte) (*File, error) {
	f, err := newFile(name, int64(len(data)), func(p []byte, off int64) error {
		copy(p, data[off:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.data = data
	return f, nil
}

// newFile reads and validates the header of an image of size bytes through readAt, which is only
// called for ranges inside [0, size).
func newFile(name string, size int64, readAt func(p []byte, off int64) error) (*File, error) {
	fail := func(format string, a ...any) (*File, error) {
		return nil, fmt.Errorf("safetensors: %s: "+format, append([]any{name}, a...)...)
	}
	if size < 8 {
		return fail("truncated file: %d bytes, too short for the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if err := readAt(lenBuf[:], 0); err != nil {
		return fail("reading header length: %v", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return fail("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return fail("header length %d runs past the end of the file (%d bytes): truncated file?", n, size)
	}
	hdr := make([]byte, n)
	if err := readAt(hdr, 8); err != nil {
		return fail("reading header: %v", err)
	}
	dataOff := 8 + int64(n)
	h, err := parseHeader(hdr, size-dataOff)
	if err != nil {
		return fail("%v", err)
	}
	return &File{Path: name, Metadata: h.metadata, dataOff: dataOff, infos: h.infos, names: h.names}, nil
}

// readFull reads len(p) bytes at off, accepting io.EOF together with a full read as io.ReaderAt
// allows.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Close releases the mapping or the underlying file. Views returned by Bytes must not be used
// after Close.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	var err error
	if f.unmap != nil {
		err = f.unmap()
		f.data = nil
	}
	if f.closer != nil {
		if cerr := f.closer.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("safetensors: %s: closing: %w", f.Path, err)
	}
	return nil
}

// Mapped reports whether the tensor bytes are held in memory (a read-only mapping or the slice
// given to FromBytes), so that Bytes returns views rather than copies.
func (f *File) Mapped() bool { return f.data != nil }

// Names lists the tensor names in sorted order. The slice must not be modified.
func (f *File) Names() []string { return f.names }

// Info returns the description of a tensor, or nil if absent. It must not be modified.
func (f *File) Info(name string) *Info { return f.infos[name] }

// lookup finds a tensor of an open file.
func (f *File) lookup(name string) (*Info, error) {
	if f.closed {
		return nil, fmt.Errorf("safetensors: %s: file is closed (reading tensor %q)", f.Path, name)
	}
	t := f.infos[name]
	if t == nil {
		return nil, fmt.Errorf("safetensors: %s: missing tensor %q", f.Path, name)
	}
	return t, nil
}

// Bytes returns the little-endian bytes of a tensor. When the file is mapped (see Mapped) the
// result is a zero-copy view: it is read-only (writing to it faults) and valid only until Close.
// Otherwise it is a fresh copy, as from Raw.
func (f *File) Bytes(name string) ([]byte, *Info, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if f.data != nil {
		lo, hi := f.dataOff+t.Begin, f.dataOff+t.End
		return f.data[lo:hi:hi], t, nil
	}
	return f.Raw(name)
}

// Raw returns a fresh copy of the bytes of a tensor, which the caller owns.
func (f *File) Raw(name string) ([]byte, *Info, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, t.End-t.Begin)
	if f.data != nil {
		copy(buf, f.data[f.dataOff+t.Begin:])
		return buf, t, nil
	}
	if err := readFull(f.r, buf, f.dataOff+t.Begin); err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: reading tensor %q: %v", f.Path, name, err)
	}
	return buf, t, nil
}

// Float32 reads a floating-point tensor (F32, F16, BF16, F64, F8_E4M3, F8_E5M2) converted to
// float32.
func (f *File) Float32(name string) ([]float32, *Info, error) {
	buf, t, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := ToFloat32(buf, t.DType)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %v", f.Path, name, err)
	}
	return out, t, nil
}

// Int64 reads an integer or boolean tensor (I64, I32, I16, I8, U64, U32, U16, U8, BOOL) widened to
// int64; a U64 value above MaxInt64 is an error.
func (f *File) Int64(name string) ([]int64, *Info, error) {
	buf, t, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := ToInt64(buf, t.DType)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %v", f.Path, name, err)
	}
	return out, t, nil
}

// ToInt64 converts little-endian integer bytes of the given dtype to int64 (BOOL: nonzero is 1).
// Trailing bytes that do not fill a whole element are ignored.
func ToInt64(buf []byte, dt DType) ([]int64, error) {
	if dt.Size() == 0 || dt.IsFloat() {
		return nil, fmt.Errorf("dtype %s is not an integer type", dt)
	}
	out := make([]int64, len(buf)/dt.Size())
	switch dt {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(buf[8*i:]))
		}
	case U64:
		for i := range out {
			v := binary.LittleEndian.Uint64(buf[8*i:])
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("element %d = %d does not fit in int64", i, v)
			}
			out[i] = int64(v)
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(buf[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(buf[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(buf[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(buf[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(buf[i])
		}
	case Bool:
		for i := range out {
			if buf[i] != 0 {
				out[i] = 1
			}
		}
	default:
		return nil, errors.New("unreachable dtype " + string(dt))
	}
	return out, nil
}
