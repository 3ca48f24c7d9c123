package safetensors

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// llamaConfig holds the config.json fields that fix the tensor shapes of a Llama-family model.
type llamaConfig struct {
	VocabSize         int  `json:"vocab_size"`
	HiddenSize        int  `json:"hidden_size"`
	IntermediateSize  int  `json:"intermediate_size"`
	NumHiddenLayers   int  `json:"num_hidden_layers"`
	NumAttentionHeads int  `json:"num_attention_heads"`
	NumKeyValueHeads  int  `json:"num_key_value_heads"`
	HeadDim           int  `json:"head_dim"`
	TieWordEmbeddings bool `json:"tie_word_embeddings"`
}

// llamaShapes lists every tensor a Llama checkpoint holds and its shape, from the config.
func llamaShapes(c llamaConfig) map[string][]int {
	h, q, kv := c.HiddenSize, c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	m := map[string][]int{
		"model.embed_tokens.weight": {c.VocabSize, h},
		"model.norm.weight":         {h},
	}
	if !c.TieWordEmbeddings {
		m["lm_head.weight"] = []int{c.VocabSize, h}
	}
	for i := range c.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", i)
		m[p+"input_layernorm.weight"] = []int{h}
		m[p+"post_attention_layernorm.weight"] = []int{h}
		m[p+"self_attn.q_proj.weight"] = []int{q, h}
		m[p+"self_attn.k_proj.weight"] = []int{kv, h}
		m[p+"self_attn.v_proj.weight"] = []int{kv, h}
		m[p+"self_attn.o_proj.weight"] = []int{h, q}
		m[p+"mlp.gate_proj.weight"] = []int{c.IntermediateSize, h}
		m[p+"mlp.up_proj.weight"] = []int{c.IntermediateSize, h}
		m[p+"mlp.down_proj.weight"] = []int{h, c.IntermediateSize}
	}
	return m
}

// checkLlamaFolder opens a Llama model folder and checks every tensor's dtype and shape against
// config.json and that all values are finite.
func checkLlamaFolder(t *testing.T, dir string, dtype DType) {
	var cfg llamaConfig
	shared.ReadJSON(t, filepath.Join(dir, "config.json"), &cfg)
	set, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	want := llamaShapes(cfg)
	if len(set.Names()) != len(want) {
		t.Errorf("%s: %d tensors, config implies %d", dir, len(set.Names()), len(want))
	}
	var params int
	var maxAbs float64
	for name, shape := range want {
		info := set.Info(name)
		if info == nil {
			t.Errorf("%s: missing tensor %q", dir, name)
			continue
		}
		if info.DType != dtype || fmt.Sprint(info.Shape) != fmt.Sprint(shape) {
			t.Errorf("%s: %q is %s %v, config implies %s %v", dir, name, info.DType, info.Shape, dtype, shape)
		}
		v, _, err := set.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		nonzero := 0
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s: %q[%d] = %v", dir, name, i, x)
			}
			if x != 0 {
				nonzero++
			}
			maxAbs = math.Max(maxAbs, math.Abs(float64(x)))
		}
		if nonzero == 0 {
			t.Errorf("%s: %q is all zeros", dir, name)
		}
		params += len(v)
	}
	t.Logf("%s: %d tensors, %d parameters (%s), max |w| = %.4g, mapped=%v", dir, len(want), params, dtype, maxAbs, set.Files[0].Mapped())
}

func TestReadsTransformersLlamaFixture(t *testing.T) {
	checkLlamaFolder(t, shared.Path(t, "fixtures", "hf", "llama", "model"), F32)
}

func TestReadsBF16BaseModel(t *testing.T) {
	checkLlamaFolder(t, shared.Path(t, "models", "base-19m"), BF16)
}

func TestReadsReferenceInputIDs(t *testing.T) {
	f, err := Open(shared.Path(t, "fixtures", "hf", "llama", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, info, err := f.Int64("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	logits := f.Info("logits")
	if logits == nil || len(info.Shape) != 2 || len(logits.Shape) != 3 || logits.Shape[0] != info.Shape[0] || logits.Shape[1] != info.Shape[1] {
		t.Fatalf("input_ids %v and logits %v do not agree", info.Shape, logits)
	}
	for i, id := range ids {
		if id < 0 || id >= int64(logits.Shape[2]) {
			t.Fatalf("input_ids[%d] = %d outside the vocabulary of %d", i, id, logits.Shape[2])
		}
	}
}

// Rewriting a file that safetensors (Python, via transformers) wrote reproduces it byte for byte:
// same header JSON, padding and tensor order, across F32, I64 and BF16 files.
func TestRewriteReproducesReferenceFilesByteForByte(t *testing.T) {
	paths := []string{
		filepath.Join("fixtures", "hf", "llama", "model", "model.safetensors"),
		filepath.Join("fixtures", "hf", "gpt2", "model", "model.safetensors"),
		filepath.Join("fixtures", "hf", "qwen2", "model", "model.safetensors"),
		filepath.Join("fixtures", "hf", "llama", "reference.safetensors"),
		filepath.Join("fixtures", "hf", "base", "reference.safetensors"),
		filepath.Join("models", "base-19m", "model.safetensors"),
	}
	for _, p := range paths {
		path := shared.Path(t, p)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := FromBytes(path, orig)
		if err != nil {
			t.Fatal(err)
		}
		var ts []Tensor
		for _, name := range f.Names() {
			b, info, err := f.Bytes(name)
			if err != nil {
				t.Fatal(err)
			}
			ts = append(ts, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: b})
		}
		var buf bytes.Buffer
		if err := Write(&buf, ts, f.Metadata); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), orig) {
			n := 0
			for n < min(buf.Len(), len(orig)) && buf.Bytes()[n] == orig[n] {
				n++
			}
			t.Errorf("%s: rewrite differs from the original at byte %d (lengths %d, %d)", p, n, buf.Len(), len(orig))
		}
	}
}
