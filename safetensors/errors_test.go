package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// image builds a file from a header length, header text and data bytes.
func image(n uint64, hdr string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, n)
	b = append(b, hdr...)
	return append(b, data...)
}

// imageOf builds a file whose header length is right.
func imageOf(hdr string, dataLen int) []byte {
	return image(uint64(len(hdr)), hdr, make([]byte, dataLen))
}

func TestHostileHeadersAreErrorsNamingTheProblem(t *testing.T) {
	cases := []struct {
		name string
		img  []byte
		want string
	}{
		{"truncated file", []byte{1, 0, 0}, "truncated file: 3 bytes"},
		{"empty file", nil, "truncated file: 0 bytes"},
		{"header length past the end", image(100, `{}`, nil), "header length 100 runs past the end of the file (10 bytes)"},
		{"truncated tensor data", imageOf(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 10), `data_offsets [0, 16] outside the data section of 10 bytes`},
		{"header length over the limit", image(MaxHeaderSize+1, `{}`, nil), "header length 100000001 exceeds the limit of 100000000 bytes"},
		{"header length 2^64-1", image(1<<64-1, `{}`, nil), "exceeds the limit"},
		{"empty header", image(0, ``, nil), "must start with '{'"},
		{"header not JSON", imageOf(`{"a": nope}`, 0), "header is not a JSON object"},
		{"header an array", imageOf(`[1, 2]`, 0), "header is not a JSON object (it must start with '{')"},
		{"header null", imageOf(`null`, 0), "must start with '{'"},
		{"header leading space", imageOf(` {}`, 0), "must start with '{'"},
		{"trailing data after the object", imageOf(`{} {}`, 0), "unexpected data after the JSON object"},
		{"trailing garbage", imageOf(`{}x`, 0), "header is not a JSON object"},
		{"unterminated object", imageOf(`{"a":{}`, 0), "header is not a JSON object"},
		{"invalid UTF-8", imageOf("{\"\xff\":1}", 0), "not valid UTF-8"},
		{"duplicate tensor key", imageOf(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), `duplicate key "a"`},
		{"duplicate field", imageOf(`{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}`, 1), `duplicate key "dtype"`},
		{"duplicate key spelled with an escape", imageOf(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), `duplicate key "a"`},
		{"duplicate metadata key", imageOf(`{"__metadata__":{"k":"1","k":"2"}}`, 0), `duplicate key "k"`},
		{"entry not an object", imageOf(`{"a":5}`, 0), `tensor "a": entry must be an object`},
		{"missing field", imageOf(`{"a":{"dtype":"U8","shape":[1]}}`, 1), `tensor "a": entry needs dtype, shape and data_offsets`},
		{"unknown field", imageOf(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"DTYPE":"F32"}}`, 1), `tensor "a": unknown field "DTYPE"`},
		{"unknown dtype", imageOf(`{"a":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,1]}}`, 1), `tensor "a": unknown dtype "Q4_K"`},
		{"dtype not a string", imageOf(`{"a":{"dtype":null,"shape":[1],"data_offsets":[0,1]}}`, 1), `tensor "a": dtype must be a string`},
		{"negative dim", imageOf(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, 0), `tensor "a": negative dimension -1 in shape [-1]`},
		{"fractional dim", imageOf(`{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}`, 1), `tensor "a": shape: "1.0" is not an integer`},
		{"dim as string", imageOf(`{"a":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, 1), `is not an integer`},
		{"nested shape", imageOf(`{"a":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}}`, 1), `is not an integer`},
		{"shape not an array", imageOf(`{"a":{"dtype":"U8","shape":null,"data_offsets":[0,1]}}`, 1), `shape: must be an array of integers`},
		{"dim past int64", imageOf(`{"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}}`, 1), `is not an integer in [-2^63, 2^63)`},
		{"shape product overflow", imageOf(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}}`, 0), `tensor "a": shape [4294967296 4294967296 4] overflows`},
		{"overflow hidden by a zero", imageOf(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, 0), `overflows`},
		{"bytes overflow", imageOf(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}`, 8), `dtype/size mismatch`},
		{"dtype/size mismatch", imageOf(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), `tensor "a": F32 shape [3] needs 3·4 bytes but data_offsets [0, 8] give 8 (dtype/size mismatch)`},
		{"offsets out of bounds", imageOf(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, 4), `tensor "a": data_offsets [4, 8] outside the data section of 4 bytes`},
		{"negative offset", imageOf(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, 4), `data_offsets [-1, 0] outside`},
		{"begin after end", imageOf(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}`, 4), `data_offsets [2, 1] outside`},
		{"three offsets", imageOf(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, 1), `data_offsets must be [begin, end], has 3 entries`},
		{"offsets overlapping", imageOf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), `tensors "a" [0, 8] and "b" [4, 12] overlap`},
		{"identical offsets", imageOf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8), `overlap`},
		{"empty tensor inside another", imageOf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, 8), `tensors "a" [0, 8] and "z" [4, 4] overlap`},
		{"gap between tensors", imageOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, 12), `tensor "b" begins at data offset 8 but the data before it ends at 4`},
		{"trailing bytes", imageOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8), `tensors cover 4 bytes but the data section holds 8`},
		{"data without tensors", imageOf(`{}`, 1), `tensors cover 0 bytes but the data section holds 1`},
		{"metadata not strings", imageOf(`{"__metadata__":{"k":1}}`, 0), `__metadata__["k"] must be a string`},
		{"metadata null value", imageOf(`{"__metadata__":{"k":null}}`, 0), `__metadata__["k"] must be a string`},
		{"metadata not an object", imageOf(`{"__metadata__":"x"}`, 0), `__metadata__ must be an object of strings`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromBytes("hostile.safetensors", c.img)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "hostile.safetensors") {
				t.Fatalf("got %v\nwant an error naming hostile.safetensors and %q", err, c.want)
			}
			// The ReadAt path reports the same.
			_, err2 := NewReader("hostile.safetensors", bytes.NewReader(c.img), int64(len(c.img)))
			if err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("NewReader gave %v, FromBytes %v", err2, err)
			}
		})
	}
}

func TestAcceptsWhatTheReferenceAccepts(t *testing.T) {
	cases := []struct {
		name, hdr string
		dataLen   int
		names     int
	}{
		{"empty", `{}`, 0, 0},
		{"padded with spaces", `{}      `, 0, 0},
		{"null metadata", `{"__metadata__":null}`, 0, 0},
		{"scalar", `{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, 4, 1},
		{"empty tensors at boundaries", `{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"c":{"dtype":"I64","shape":[3,0],"data_offsets":[2,2]}}`, 2, 3},
		{"zero dimension with a huge one", `{"z":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}}`, 0, 1},
		{"any key order and whitespace", "{ \"x\" : { \"data_offsets\" : [ 0 , 2 ] , \"shape\" : [ 1 ] , \"dtype\" : \"BF16\" } }\t\n", 2, 1},
	}
	for _, c := range cases {
		f, err := FromBytes(c.name, imageOf(c.hdr, c.dataLen))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(f.Names()) != c.names {
			t.Errorf("%s: %d tensors, want %d", c.name, len(f.Names()), c.names)
		}
	}
}

func TestMissingTensorAndWrongKindAreErrors(t *testing.T) {
	img := mustImage(t, []Tensor{
		FromFloat32("w", []int{2}, []float32{1, 2}),
		FromInt64("ids", []int{1}, []int64{7}),
		{Name: "big", DType: U64, Shape: []int{1}, Data: []byte{0, 0, 0, 0, 0, 0, 0, 0x80}},
	})
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checks := []struct {
		err  error
		want string
	}{
		{second(f.Raw("nope")), `missing tensor "nope"`},
		{second(f.Bytes("nope")), `missing tensor "nope"`},
		{second(f.Float32("ids")), `tensor "ids": dtype I64 is not a floating-point type`},
		{second(f.Int64("w")), `tensor "w": dtype F32 is not an integer type`},
		{second(f.Int64("big")), `tensor "big": element 0 = 9223372036854775808 does not fit in int64`},
	}
	for _, c := range checks {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) || !strings.Contains(c.err.Error(), path) {
			t.Errorf("got %v, want an error naming %s and %q", c.err, path, c.want)
		}
	}
	if f.Info("nope") != nil {
		t.Error("Info of a missing tensor is not nil")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "absent.safetensors")); err == nil || !strings.Contains(err.Error(), "absent.safetensors") {
		t.Errorf("opening a missing file gave %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("opening a folder gave %v", err)
	}
}

func second[A, B any](_ A, _ B, err error) error { return err }

// A reader shorter than the size it claims: reading a tensor past its end is an error.
func TestShortReaderIsAnError(t *testing.T) {
	img := mustImage(t, []Tensor{FromFloat32("w", []int{4}, []float32{1, 2, 3, 4})})
	f, err := NewReader("short", bytes.NewReader(img[:len(img)-4]), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Raw("w"); err == nil || !strings.Contains(err.Error(), `reading tensor "w"`) {
		t.Errorf("got %v", err)
	}
}

// A header that claims huge sizes is rejected before anything of that size is allocated.
func TestHostileSizesAllocateLittle(t *testing.T) {
	imgs := [][]byte{
		image(MaxHeaderSize, `{}`, nil), // header length within the limit but past the end
		imageOf(`{"a":{"dtype":"F64","shape":[1099511627776],"data_offsets":[0,8796093022208]}}`, 8),
		imageOf(`{"a":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}}`, 0),
		imageOf(`{"a":{"dtype":"U8","shape":[`+strings.Repeat("0,", 1000)+`1],"data_offsets":[0,1]}}`, 1),
	}
	for i, img := range imgs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f, _ := FromBytes("hostile", img)
		if f != nil {
			for _, n := range f.Names() {
				f.Float32(n)
				f.Int64(n)
			}
		}
		r, _ := NewReader("hostile", bytes.NewReader(img), int64(len(img)))
		if r != nil {
			for _, n := range r.Names() {
				r.Raw(n)
			}
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10+64*uint64(len(img)) {
			t.Errorf("image %d (%d bytes): parsing allocated %d bytes", i, len(img), got)
		} else {
			t.Logf("image %d (%d bytes): %d bytes allocated", i, len(img), got)
		}
	}
}
