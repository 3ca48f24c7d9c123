package export

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/allocs"
)

// ggufBound: the reader keeps the input and builds a map of key-values and a tensor list whose
// entries cost a few dozen bytes per input byte at most (an 8-byte length + 1-byte string).
var ggufBound = allocs.Bound{PerByte: 64, Fixed: 1 << 20}

// ggufSeed encodes a small adapter-like GGUF with our writer.
func ggufSeed() []byte {
	var kv ggufKV
	kv.str("general.type", "adapter")
	kv.str("adapter.type", "lora")
	kv.f32("adapter.lora.alpha", 16)
	return encodeGGUF(kv, []ggufTensor{
		{name: "blk.0.attn_q.weight.lora_a", shape: []int{2, 3}, data: []float32{1, 2, 3, 4, 5, 6}},
		{name: "blk.0.attn_q.weight.lora_b", shape: []int{3, 2}, data: []float32{-1, 0, 0.5, 7, 8, 9}},
		{name: "scalar", shape: []int{1}, data: []float32{42}},
	})
}

// FuzzGGUF feeds arbitrary bytes to the GGUF reader: it must never panic or allocate more than a
// multiple of its input; every tensor of a type it decodes (F32, F16, BF16, Q8_0) must read with
// exactly its shape's values;
// and a file of string and float32 key-values rewritten by our writer must read back the same.
//
//	go test -run '^$' -fuzz FuzzGGUF -fuzztime 60s ./export/
func FuzzGGUF(f *testing.F) {
	f.Add(ggufSeed())
	f.Add([]byte("GGUF\x02\x00\x00\x00"))
	f.Add(append([]byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"),
		"\x01\x00\x00\x00\x00\x00\x00\x00k\x09\x00\x00\x00\x07\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00"...))
	f.Fuzz(func(t *testing.T, in []byte) {
		var g *GGUFFile
		var err error
		if aerr := ggufBound.Check("parseGGUF", len(in), func() { g, err = parseGGUF(in) }); aerr != nil {
			t.Fatal(aerr)
		}
		if err != nil {
			if strings.Contains(err.Error(), "Go ") {
				t.Fatalf("error names Go types: %v", err)
			}
			return
		}
		var kv ggufKV
		rewritable := true
		for _, k := range g.Keys {
			switch v := g.KV[k].(type) {
			case string:
				kv.str(k, v)
			case float32:
				kv.f32(k, v)
			default:
				rewritable = false
			}
		}
		var ts []ggufTensor
		for _, ti := range g.Tensors {
			if _, known := ti.bytes(); !known {
				rewritable = false
				continue // a type the reader does not decode: its extent is not checked
			}
			var v []float32
			var err error
			if aerr := ggufBound.Check("Values", len(in), func() { v, err = g.Values(ti.Name) }); aerr != nil {
				t.Fatal(aerr)
			}
			if err != nil {
				t.Fatalf("accepted tensor %q does not read: %v", ti.Name, err)
			}
			n := 1
			for _, d := range ti.Shape() {
				n *= d
			}
			if len(v) != n {
				t.Fatalf("tensor %q: %d values for shape %v", ti.Name, len(v), ti.Shape())
			}
			if ti.Type != GGMLTypeF32 {
				rewritable = false // our writer writes F32 only
				continue
			}
			ts = append(ts, ggufTensor{name: ti.Name, shape: ti.Shape(), data: v})
		}
		if hasDuplicateTensor(g) {
			t.Fatal("accepted duplicate tensor names")
		}
		if !rewritable || g.Tensor("") != nil {
			return
		}
		back, err := parseGGUF(encodeGGUF(kv, ts))
		if err != nil {
			t.Fatalf("rewritten file does not read: %v", err)
		}
		if !reflect.DeepEqual(back.Keys, g.Keys) || len(back.Tensors) != len(ts) {
			t.Fatalf("rewrite changed keys or tensors: %v / %v", back.Keys, g.Keys)
		}
		for _, k := range g.Keys {
			a, b := g.KV[k], back.KV[k]
			if fa, ok := a.(float32); ok && math.IsNaN(float64(fa)) {
				if fb, ok := b.(float32); !ok || !math.IsNaN(float64(fb)) {
					t.Fatalf("key %q: %v → %v", k, a, b)
				}
				continue
			}
			if a != b {
				t.Fatalf("key %q: %v → %v", k, a, b)
			}
		}
		for _, tn := range ts {
			v, err := back.Float32(tn.name)
			if err != nil || len(v) != len(tn.data) {
				t.Fatalf("tensor %q after rewrite: %v", tn.name, err)
			}
			for i := range v {
				if math.Float32bits(v[i]) != math.Float32bits(tn.data[i]) {
					t.Fatalf("tensor %q[%d]: %v → %v", tn.name, i, tn.data[i], v[i])
				}
			}
		}
	})
}

func hasDuplicateTensor(g *GGUFFile) bool {
	seen := map[string]bool{}
	for _, t := range g.Tensors {
		if seen[t.Name] {
			return true
		}
		seen[t.Name] = true
	}
	return false
}

// Our writer's seed reads back, so the corpus starts inside the accepted space.
func TestGGUFSeedReads(t *testing.T) {
	g, err := parseGGUF(ggufSeed())
	if err != nil || len(g.Tensors) != 3 || g.KV["adapter.type"] != "lora" {
		t.Fatalf("%+v, %v", g, err)
	}
}
