package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// allDTypes lists every dtype the package knows.
var allDTypes = []DType{F64, F32, F16, BF16, F8E4M3, F8E5M2, I64, I32, I16, I8, U64, U32, U16, U8, Bool}

// randomTensors makes one tensor per dtype and shape kind (matrix, scalar, zero-size) with random
// bytes, plus names that need JSON escaping.
func randomTensors(rng *rand.Rand) []Tensor {
	var ts []Tensor
	for _, dt := range allDTypes {
		for _, shape := range [][]int{{3, 5}, {}, {0, 4}, {7}} {
			n := 1
			for _, d := range shape {
				n *= d
			}
			data := make([]byte, n*dt.Size())
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			if dt == Bool {
				for i := range data {
					data[i] &= 1
				}
			}
			name := fmt.Sprintf("%s.rank%d.n%d", dt, len(shape), n)
			ts = append(ts, Tensor{Name: name, DType: dt, Shape: shape, Data: data})
		}
	}
	ts = append(ts, FromFloat32(`odd "name" <&> \ ünï`, []int{2}, []float32{1, -2}))
	return ts
}

// checkSame asserts that src holds exactly tensors, with the same bytes through every accessor.
func checkSame(t *testing.T, src interface {
	Source
	Bytes(string) ([]byte, *Info, error)
}, tensors []Tensor) {
	t.Helper()
	if len(src.Names()) != len(tensors) {
		t.Fatalf("read %d tensors, wrote %d", len(src.Names()), len(tensors))
	}
	for _, w := range tensors {
		info := src.Info(w.Name)
		if info == nil {
			t.Fatalf("tensor %q missing after round trip", w.Name)
		}
		if info.DType != w.DType || !reflect.DeepEqual(info.Shape, append([]int{}, w.Shape...)) {
			t.Fatalf("tensor %q: read %s %v, wrote %s %v", w.Name, info.DType, info.Shape, w.DType, w.Shape)
		}
		if info.NumElements()*info.DType.Size() != len(w.Data) {
			t.Fatalf("tensor %q: NumElements %d", w.Name, info.NumElements())
		}
		raw, _, err := src.Raw(w.Name)
		if err != nil || !bytes.Equal(raw, w.Data) {
			t.Fatalf("tensor %q: Raw = %v, %v", w.Name, raw, err)
		}
		view, _, err := src.Bytes(w.Name)
		if err != nil || !bytes.Equal(view, w.Data) {
			t.Fatalf("tensor %q: Bytes = %v, %v", w.Name, view, err)
		}
		if w.DType.IsFloat() {
			got, _, err := src.Float32(w.Name)
			want, _ := ToFloat32(w.Data, w.DType)
			if err != nil || !sameFloats(got, want) {
				t.Fatalf("tensor %q: Float32 = %v, %v; want %v", w.Name, got, err, want)
			}
			if _, _, err := src.Int64(w.Name); err == nil || !strings.Contains(err.Error(), "not an integer type") {
				t.Fatalf("tensor %q: Int64 of a float tensor gave %v", w.Name, err)
			}
		} else {
			got, _, err := src.Int64(w.Name)
			want, werr := ToInt64(w.Data, w.DType)
			if (err != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("tensor %q: Int64 = %v, %v; want %v, %v", w.Name, got, err, want, werr)
			}
			if _, _, err := src.Float32(w.Name); err == nil || !strings.Contains(err.Error(), "not a floating-point type") {
				t.Fatalf("tensor %q: Float32 of an integer tensor gave %v", w.Name, err)
			}
		}
	}
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(math.IsNaN(float64(a[i])) && math.IsNaN(float64(b[i]))) {
			return false
		}
	}
	return true
}

func TestWriteThenReadRoundTripsEveryDType(t *testing.T) {
	tensors := randomTensors(rand.New(rand.NewPCG(3, 4)))
	meta := map[string]string{"format": "pt", "note": `quotes " and <tags>`}
	path := filepath.Join(t.TempDir(), "all.safetensors")
	if err := WriteFile(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if runtime.GOOS == "linux" && !f.Mapped() {
		t.Errorf("Open did not memory-map %s on linux", path)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("metadata %v, wrote %v", f.Metadata, meta)
	}
	checkSame(t, f, tensors)

	// The ReadAt path (what non-unix platforms use) reads the same.
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	r, err := NewReader(path, fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapped() {
		t.Error("NewReader claims to be mapped")
	}
	checkSame(t, r, tensors)
}

func TestWrittenLayoutMatchesReferenceWriter(t *testing.T) {
	tensors := randomTensors(rand.New(rand.NewPCG(5, 6)))
	var buf bytes.Buffer
	if err := Write(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	img := buf.Bytes()
	n := binary.LittleEndian.Uint64(img)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	hdr := img[8 : 8+n]
	trimmed := bytes.TrimRight(hdr, " ")
	if len(hdr)-len(trimmed) >= 8 || !bytes.HasPrefix(hdr, []byte(`{"__metadata__":{"format":"pt"},`)) {
		t.Errorf("header padding/prefix wrong: %q", hdr)
	}
	if !json.Valid(trimmed) {
		t.Errorf("header is not valid JSON: %s", trimmed)
	}
	f, err := FromBytes("mem", img)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range f.Names() {
		info := f.Info(name)
		if (8+int64(n)+info.Begin)%int64(info.DType.Size()) != 0 {
			t.Errorf("tensor %q (%s) starts at file offset %d, not aligned", name, info.DType, 8+int64(n)+info.Begin)
		}
	}
	// Writing is deterministic: the input order does not matter.
	rev := append([]Tensor{}, tensors...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	var buf2 bytes.Buffer
	if err := Write(&buf2, rev, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img, buf2.Bytes()) {
		t.Error("writing the same tensors in another order gave different bytes")
	}
}

func TestBytesIsAZeroCopyView(t *testing.T) {
	img := mustImage(t, []Tensor{FromFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4})})
	f, err := FromBytes("mem", img)
	if err != nil {
		t.Fatal(err)
	}
	view, _, _ := f.Bytes("w")
	raw, _, _ := f.Raw("w")
	if &view[0] != &img[len(img)-16] {
		t.Error("Bytes copied the data of an in-memory file")
	}
	if cap(view) != len(view) {
		t.Errorf("view capacity %d exceeds its length %d: appending would overwrite the file", cap(view), len(view))
	}
	raw[0] ^= 0xff
	if view[0] == raw[0] {
		t.Error("Raw returned memory shared with the file")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Raw("w"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Raw after Close gave %v", err)
	}
}

func TestFromFloat32AsRoundsAndWidensBack(t *testing.T) {
	v := []float32{0, 1, -1.5, 3.14159265, 1e-6, 65504, 1e10, float32(math.Inf(-1))}
	for _, dt := range []DType{F32, F64, BF16, F16} {
		tn := FromFloat32As("t", []int{len(v)}, v, dt)
		got, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range v {
			var want float32
			switch dt {
			case F32, F64:
				want = x
			case BF16:
				want = BF16ToFloat32(Float32ToBF16(x))
			case F16:
				want = F16ToFloat32(Float32ToF16(x))
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Errorf("%s: element %d = %v, want %v", dt, i, got[i], want)
			}
		}
	}
	ids := FromInt64("ids", []int{3}, []int64{-1, 0, math.MaxInt64})
	got, err := ToInt64(ids.Data, ids.DType)
	if err != nil || !reflect.DeepEqual(got, []int64{-1, 0, math.MaxInt64}) {
		t.Errorf("FromInt64 round trip = %v, %v", got, err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "safetensors: ") {
			t.Errorf("FromFloat32As(I32) did not panic with a package-prefixed message: %v", r)
		}
	}()
	FromFloat32As("t", []int{1}, []float32{1}, I32)
}

func TestWriteRejectsInvalidTensors(t *testing.T) {
	good := FromFloat32("a", []int{2}, []float32{1, 2})
	cases := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"size mismatch", []Tensor{FromFloat32("a", []int{3}, []float32{1, 2})}, nil, `tensor "a": F32 shape [3] needs 12 bytes of data, has 8`},
		{"duplicate", []Tensor{good, good}, nil, `tensor name "a" appears twice`},
		{"negative dim", []Tensor{{Name: "n", DType: F32, Shape: []int{-1}}}, nil, "negative dimension"},
		{"unknown dtype", []Tensor{{Name: "u", DType: "Q4", Shape: []int{}}}, nil, `unknown dtype "Q4"`},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{}, Data: []byte{1}}}, nil, "reserved"},
		{"empty name", []Tensor{{Name: "", DType: U8, Shape: []int{}, Data: []byte{1}}}, nil, "empty name"},
		{"bad utf8 name", []Tensor{{Name: "\xff", DType: U8, Shape: []int{}, Data: []byte{1}}}, nil, "UTF-8"},
		{"bad utf8 metadata", []Tensor{good}, map[string]string{"k": "\xfe"}, "UTF-8"},
		{"huge shape", []Tensor{{Name: "h", DType: F32, Shape: []int{math.MaxInt, math.MaxInt}}}, nil, "too large"},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "x.safetensors")
		err := WriteFile(path, c.tensors, c.meta)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want an error naming %s and %q", c.name, err, path, c.want)
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 0 {
			t.Errorf("%s: a failed write left %d files behind", c.name, len(entries))
		}
	}
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	for i := range 2 {
		if err := WriteFile(path, []Tensor{FromFloat32("w", []int{1}, []float32{float32(i)})}, nil); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after two writes, want only m.safetensors", len(entries))
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _, err := f.Float32("w")
	if err != nil || v[0] != 1 {
		t.Errorf("second write not visible: %v, %v", v, err)
	}
	if err := WriteFile(filepath.Join(dir, "nope", "m.safetensors"), nil, nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("writing into a missing folder gave %v", err)
	}
}

func mustImage(t testing.TB, tensors []Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
