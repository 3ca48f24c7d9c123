package safetensors

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// fuzzSeeds are small valid and nearly valid images: every dtype, scalars, empty tensors,
// metadata, and the real header of a transformers checkpoint trimmed to its smallest tensors.
func fuzzSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{
		mustImage(tb, []Tensor{FromFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4}), FromInt64("ids", []int{3}, []int64{1, 2, 3})}),
		mustImage(tb, []Tensor{{Name: "s", DType: BF16, Shape: []int{}, Data: []byte{0x80, 0x3f}}, {Name: "z", DType: F16, Shape: []int{0, 5}}}),
		imageOf(`{"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2),
		imageOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8),
		imageOf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12),
		imageOf(`{"a":{"dtype":"F8_E4M3","shape":[1,1,1],"data_offsets":[0,1]},"b":{"dtype":"BOOL","shape":[1],"data_offsets":[1,2]}}`, 2),
		image(1<<40, `{}`, nil),
	}
	seeds = append(seeds, mustImage(tb, randomTensors(rand.New(rand.NewPCG(9, 10)))[:8]))
	// The real header of the transformers llama fixture, keeping its three smallest tensors.
	if root := shared.Root(); root != "" {
		if f, err := Open(filepath.Join(root, "fixtures", "hf", "llama", "model", "model.safetensors")); err == nil {
			var ts []Tensor
			for _, name := range f.Names() {
				if b, info, err := f.Raw(name); err == nil && len(ts) < 3 && len(b) <= 256 {
					ts = append(ts, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: b})
				}
			}
			f.Close()
			var buf bytes.Buffer
			if Write(&buf, ts, f.Metadata) == nil {
				seeds = append(seeds, buf.Bytes())
			}
		}
	}
	return seeds
}

// FuzzHeader feeds arbitrary bytes to the reader. It must never panic; when the header validates,
// every tensor must read back (through ReadAt and from memory alike) with exactly End-Begin bytes,
// all tensors together no more than the input, and rewriting them must reproduce an image that
// reads back the same.
func FuzzHeader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader("fuzz", bytes.NewReader(data), int64(len(data)))
		m, merr := FromBytes("fuzz", data)
		if (err == nil) != (merr == nil) {
			t.Fatalf("NewReader: %v, FromBytes: %v", err, merr)
		}
		if err != nil {
			return
		}
		var total int64
		var ts []Tensor
		for _, name := range r.Names() {
			raw, info, err := r.Raw(name)
			if err != nil {
				t.Fatalf("validated tensor %q does not read: %v", name, err)
			}
			if int64(len(raw)) != info.End-info.Begin || len(raw) != info.NumElements()*info.DType.Size() {
				t.Fatalf("tensor %q: %d bytes for %s %v [%d, %d]", name, len(raw), info.DType, info.Shape, info.Begin, info.End)
			}
			view, _, err := m.Bytes(name)
			if err != nil || !bytes.Equal(view, raw) {
				t.Fatalf("tensor %q: in-memory view differs: %v", name, err)
			}
			total += int64(len(raw))
			if info.DType.IsFloat() {
				if v, _, err := r.Float32(name); err != nil || len(v) != info.NumElements() {
					t.Fatalf("tensor %q: Float32 gave %d values, %v", name, len(v), err)
				}
			} else if v, _, err := m.Int64(name); err == nil && len(v) != info.NumElements() {
				t.Fatalf("tensor %q: Int64 gave %d values", name, len(v))
			}
			ts = append(ts, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: raw})
		}
		if total > int64(len(data)) {
			t.Fatalf("read %d tensor bytes from a %d-byte input", total, len(data))
		}
		// Writers refuse the empty name (and "__metadata__" cannot be a tensor), which readers
		// accept from other writers; otherwise a valid image must rewrite.
		if r.Info("") != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, ts, r.Metadata); err != nil {
			t.Fatalf("rewriting a valid image failed: %v", err)
		}
		back, err := FromBytes("rewrite", buf.Bytes())
		if err != nil {
			t.Fatalf("rewritten image does not read: %v", err)
		}
		if !reflect.DeepEqual(back.Names(), r.Names()) || len(back.Metadata) != len(r.Metadata) ||
			len(r.Metadata) > 0 && !reflect.DeepEqual(back.Metadata, r.Metadata) {
			t.Fatalf("rewrite changed names or metadata")
		}
		for _, tn := range ts {
			b, info, _ := back.Bytes(tn.Name)
			if !bytes.Equal(b, tn.Data) || !reflect.DeepEqual(info.Shape, tn.Shape) || info.DType != tn.DType {
				t.Fatalf("rewrite changed tensor %q", tn.Name)
			}
		}
	})
}

// The seeds stay valid or invalid as intended, so the fuzz corpus keeps covering both paths.
func TestFuzzSeedsParse(t *testing.T) {
	valid := 0
	for _, s := range fuzzSeeds(t) {
		if _, err := FromBytes("seed", s); err == nil {
			valid++
		}
	}
	if valid < 6 {
		t.Errorf("only %d fuzz seeds are valid images", valid)
	}
}
