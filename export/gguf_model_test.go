package export

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/internal/tinymodel"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// Tolerances of a written tensor against the checkpoint's float32 values, relative to the
// tensor's largest magnitude: F32 exact; F16 / BF16 half an ulp (2^-11, 2^-8); Q8_0 half a
// quantisation step d/2 with d = max|x|/127 per block, plus the f16 rounding of d.
var tolType = map[GGMLType]float64{GGMLF32: 0, GGMLF16: 1.0 / 2048, GGMLBF16: 1.0 / 256, GGMLQ8_0: 0.5/127 + 1.0/2048}

// TestQ8BlockLayoutIsGGMLs: a block is the f16 scale d = max|x|/127 followed by 32 int8 quants
// round(x/d), halves away from zero, as ggml's quantize_row_q8_0_ref computes them.
func TestQ8BlockLayoutIsGGMLs(t *testing.T) {
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i-16) * 0.5 // -8 … 7.5: max|x| = 8, d = 8/127
	}
	b := quantizeQ8(nil, x)
	if len(b) != q8BlockBytes {
		t.Fatalf("block of %d bytes, want %d", len(b), q8BlockBytes)
	}
	d := float32(8) / 127
	if got := binary.LittleEndian.Uint16(b); got != safetensors.Float32ToF16(d) {
		t.Errorf("scale bits %#x, want f16(8/127) = %#x", got, safetensors.Float32ToF16(d))
	}
	id := 1 / d
	for i, v := range x {
		want := int8(math.Round(float64(v * id))) // Go's math.Round: halves away from zero, as roundf
		if int8(b[2+i]) != want {
			t.Errorf("q[%d] = %d, want %d (x = %v)", i, int8(b[2+i]), want, v)
		}
	}
	if int8(b[2]) != -127 {
		t.Errorf("the largest magnitude quantises to %d, want -127", int8(b[2]))
	}
	// Halves go away from zero: 2.5 → 3 and -2.5 → -3 (not to even).
	if roundHalfAway(2.5) != 3 || roundHalfAway(-2.5) != -3 || roundHalfAway(0.49999997) != 0 {
		t.Errorf("roundHalfAway: %v %v %v", roundHalfAway(2.5), roundHalfAway(-2.5), roundHalfAway(0.49999997))
	}
	// An all-zero block has d = 0 and q = 0.
	z := quantizeQ8(nil, make([]float32, 32))
	for i, v := range z {
		if v != 0 {
			t.Fatalf("zero block byte %d = %d", i, v)
		}
	}
}

// TestGGUFModelOfBase19mHoldsItsCheckpoint: base-19m written in each --outtype parses, carries
// llama.cpp's llama metadata and tokenizer keys, keeps norms F32, and every tensor equals the
// checkpoint (q/k rows un-permuted) within its type's rounding.
func TestGGUFModelOfBase19mHoldsItsCheckpoint(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	cfg, err := model.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, ty := range []GGUFOutType{OutF32, OutBF16, OutQ8_0} {
		t.Run(ty.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.gguf")
			info, err := GGUFModel(out, dir, ty, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ReadGGUF(out)
			if err != nil {
				t.Fatal(err)
			}
			wantKV := map[string]any{
				"general.architecture": "llama", "general.type": "model", "general.file_type": outTypes[ty].fileType,
				"llama.block_count": uint32(8), "llama.context_length": uint32(1024), "llama.embedding_length": uint32(384),
				"llama.feed_forward_length": uint32(1024), "llama.attention.head_count": uint32(6),
				"llama.attention.head_count_kv": uint32(2), "llama.rope.freq_base": float32(10000),
				"llama.attention.layer_norm_rms_epsilon": float32(1e-5), "llama.rope.dimension_count": uint32(64),
				"llama.vocab_size": uint32(16384), "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
				"tokenizer.ggml.bos_token_id": uint32(1), "tokenizer.ggml.eos_token_id": uint32(2),
				"tokenizer.ggml.padding_token_id": uint32(0), "tokenizer.ggml.add_bos_token": true,
				"general.quantization_version": uint32(2),
			}
			for k, v := range wantKV {
				if f.KV[k] != v {
					t.Errorf("%s = %#v, want %#v", k, f.KV[k], v)
				}
			}
			toks, _ := f.KV["tokenizer.ggml.tokens"].([]any)
			types, _ := f.KV["tokenizer.ggml.token_type"].([]any)
			merges, _ := f.KV["tokenizer.ggml.merges"].([]any)
			if len(toks) != 16384 || len(types) != 16384 || len(merges) != 16122 {
				t.Fatalf("tokenizer: %d tokens, %d types, %d merges; want 16384, 16384, 16122", len(toks), len(types), len(merges))
			}
			if toks[1] != "<|begin_of_text|>" || types[1] != int32(tokControl) || toks[300] == "" || types[300] != int32(tokNormal) {
				t.Errorf("token 1 = %v (type %v), token 300 type %v", toks[1], types[1], types[300])
			}
			if _, ok := f.KV["llama.rope.scaling.type"]; ok {
				t.Errorf("default rope written with a scaling type")
			}
			// Tied embeddings: no output.weight; 1 + 8·9 + 1 tensors.
			if len(f.Tensors) != 74 || f.Tensor("output.weight") != nil || info.Tensors != 74 {
				t.Errorf("%d tensors (output.weight %v), want 74 and none", len(f.Tensors), f.Tensor("output.weight") != nil)
			}
			for _, sp := range ggufSpecs(cfg, set, true) {
				ti := f.Tensor(sp.gguf)
				if ti == nil {
					if !sp.optional {
						t.Errorf("no tensor %s", sp.gguf)
					}
					continue
				}
				wantType := outTypes[ty].ggml
				if len(sp.shape) == 1 {
					wantType = GGMLF32
				}
				if GGMLType(ti.Type) != wantType || !slices.Equal(ti.Shape(), sp.shape) {
					t.Errorf("%s: %v %v, want %v %v", sp.gguf, GGMLType(ti.Type), ti.Shape(), wantType, sp.shape)
					continue
				}
				got, err := f.Values(sp.gguf)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(sp.gguf, "attn_q.weight") {
					got = unpermuteRows(got, sp.shape[0], sp.shape[1], cfg.NumAttentionHeads)
				} else if strings.HasSuffix(sp.gguf, "attn_k.weight") {
					got = unpermuteRows(got, sp.shape[0], sp.shape[1], cfg.NumKeyValueHeads)
				}
				want, _, err := set.Float32(sp.hf)
				if err != nil {
					t.Fatal(err)
				}
				checkValues(t, sp.gguf, got, want, GGMLType(ti.Type))
			}
		})
	}
}

func checkValues(t *testing.T, name string, got, want []float32, ty GGMLType) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if d := numtest.MaxAbsDiff(got, want); !(d <= tolType[ty]*scale) {
		t.Errorf("%s (%v): max |Δ| %.3g > %.3g", name, ty, d, tolType[ty]*scale)
	}
}

// TestGGUFModelOfEachFamily: the GPT-2 and Qwen2 fixtures get their architecture's keys and
// tensor layout: GPT-2's Conv1D weights transposed to (out, in), position embedding and biases
// F32; Qwen2's q/k rows not permuted and its q/k/v biases written.
func TestGGUFModelOfEachFamily(t *testing.T) {
	for _, c := range []struct {
		family, pre, arch, preName string
		keys                       map[string]any
	}{
		{"gpt2", tinymodel.PreGPT2, "gpt2", "gpt-2", map[string]any{"gpt2.context_length": uint32(128), "gpt2.feed_forward_length": uint32(256),
			"gpt2.attention.layer_norm_epsilon": float32(1e-5), "gpt2.embedding_length": uint32(64)}},
		{"qwen2", tinymodel.PreQwen2, "qwen2", "qwen2", nil},
	} {
		t.Run(c.family, func(t *testing.T) {
			dir := tinymodel.Folder(t, c.family, c.pre)
			out := filepath.Join(t.TempDir(), "m.gguf")
			if _, err := GGUFModel(out, dir, OutF16, false, nil); err != nil {
				t.Fatal(err)
			}
			f, err := ReadGGUF(out)
			if err != nil {
				t.Fatal(err)
			}
			if f.KV["general.architecture"] != c.arch || f.KV["tokenizer.ggml.pre"] != c.preName {
				t.Errorf("architecture %v, pre %v; want %s, %s", f.KV["general.architecture"], f.KV["tokenizer.ggml.pre"], c.arch, c.preName)
			}
			for k, v := range c.keys {
				if f.KV[k] != v {
					t.Errorf("%s = %#v, want %#v", k, f.KV[k], v)
				}
			}
			cfg, _ := model.LoadConfig(filepath.Join(dir, "config.json"))
			set, err := safetensors.OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			n := 0
			for _, sp := range ggufSpecs(cfg, set, false) {
				ti := f.Tensor(sp.gguf)
				if ti == nil {
					if !sp.optional {
						t.Errorf("no tensor %s", sp.gguf)
					}
					continue
				}
				n++
				got, err := f.Values(sp.gguf)
				if err != nil {
					t.Fatal(err)
				}
				want, _, _ := set.Float32(sp.hf)
				if sp.outShape != nil { // Conv1D: the file holds the transpose
					want = transpose(want, sp.shape[0], sp.shape[1])
				}
				isMatrix := len(ti.Dims) == 2 && sp.gguf != "position_embd.weight"
				if wantF16 := isMatrix; (GGMLType(ti.Type) == GGMLF16) != wantF16 {
					t.Errorf("%s stored as %v", sp.gguf, GGMLType(ti.Type))
				}
				checkValues(t, sp.gguf, got, want, GGMLType(ti.Type))
			}
			if n != len(f.Tensors) {
				t.Errorf("file has %d tensors, %d checked", len(f.Tensors), n)
			}
		})
	}
}

// TestGGUFModelRefusesWhatLlamaCppCannotRunAndWritesNothing: an unknown architecture, a
// SentencePiece-style tokenizer, an unknown pre-tokenizer regex, a vocabulary larger than the
// model's, a checkpoint tensor the config does not explain and an existing output each fail with a message naming the problem, and leave no file behind.
func TestGGUFModelRefusesWhatLlamaCppCannotRunAndWritesNothing(t *testing.T) {
	base := tinymodel.Folder(t, "llama", tinymodel.PreQwen2)
	edit := func(name string, f func(string) string) string {
		dir := t.TempDir()
		for _, n := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
			b, err := os.ReadFile(filepath.Join(base, n))
			if err != nil {
				t.Fatal(err)
			}
			if n == name {
				b = []byte(f(string(b)))
			}
			os.WriteFile(filepath.Join(dir, n), b, 0o644)
		}
		return dir
	}
	cases := []struct {
		what, dir, want string
	}{
		{"architecture", edit("config.json", func(s string) string { return strings.Replace(s, "LlamaForCausalLM", "FalconForCausalLM", 1) }), "FalconForCausalLM"},
		{"byte fallback", edit("tokenizer.json", func(s string) string {
			return strings.Replace(s, `"byte_fallback": false`, `"byte_fallback": true`, 1)
		}), "byte-fallback"},
		{"regex", edit("tokenizer.json", func(s string) string { return strings.Replace(s, `\\p{N}|`, `\\p{N}{1,2}|`, 1) }), "regex"},
		{"vocab size", edit("config.json", func(s string) string { return strings.Replace(s, `"vocab_size": 384`, `"vocab_size": 300`, 1) }), "vocab_size"},
		{"stray tensor", edit("config.json", func(s string) string {
			return strings.Replace(s, `"num_hidden_layers": 2`, `"num_hidden_layers": 1`, 1)
		}), "model.layers.1."},
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "m.gguf")
		_, err := GGUFModel(out, c.dir, OutF32, false, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.what, err, c.want)
		}
		if es := entries(t, filepath.Dir(out)); len(es) != 0 {
			t.Errorf("%s: a failed export left %v", c.what, es)
		}
	}
	// A GPT-2 setting llama.cpp's graph does not compute.
	g := tinymodel.Folder(t, "gpt2", tinymodel.PreGPT2)
	b, _ := os.ReadFile(filepath.Join(g, "config.json"))
	os.WriteFile(filepath.Join(g, "config.json"), []byte(strings.Replace(string(b), `"gelu_new"`, `"gelu"`, 1)), 0o644)
	gout := filepath.Join(t.TempDir(), "g.gguf")
	if _, err := GGUFModel(gout, g, OutF32, false, nil); err == nil || !strings.Contains(err.Error(), "activation_function") {
		t.Errorf("exact GELU: %v, want an error naming activation_function", err)
	}
	if es := entries(t, filepath.Dir(gout)); len(es) != 0 {
		t.Errorf("exact GELU: a failed export left %v", es)
	}

	outDir := t.TempDir()
	out := filepath.Join(outDir, "m.gguf")
	os.WriteFile(out, []byte("mine"), 0o644)
	if _, err := GGUFModel(out, base, OutF32, false, nil); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("existing output: %v, want an error naming --force", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "mine" {
		t.Errorf("existing output was changed")
	}
	if _, err := GGUFModel(out, base, OutF32, true, nil); err != nil {
		t.Fatal(err)
	}
	if es := entries(t, outDir); len(es) != 1 {
		t.Errorf("after --force the folder holds %v", es)
	}
}
