package export

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/model"
)

// GGUF constants (ggml's gguf.h): file magic and version, value types, tensor types, alignment.
const (
	ggufMagic     = "GGUF"
	ggufVersion   = 3
	ggufAlignment = 32 // general.alignment default

	ggufTypeUint8   = 0
	ggufTypeInt8    = 1
	ggufTypeUint16  = 2
	ggufTypeInt16   = 3
	ggufTypeUint32  = 4
	ggufTypeInt32   = 5
	ggufTypeFloat32 = 6
	ggufTypeBool    = 7
	ggufTypeString  = 8
	ggufTypeArray   = 9
	ggufTypeUint64  = 10
	ggufTypeInt64   = 11
	ggufTypeFloat64 = 12

	// GGMLTypeF32 is ggml's type id of float32 tensors.
	GGMLTypeF32 = 0
)

// ggufArch maps a Hugging Face architecture to the GGUF general.architecture llama.cpp uses
// (convert_hf_to_gguf.py: LlamaModel serves Llama and Mistral, Qwen2Model, Qwen3Model,
// Gemma3Model, GPT2Model), and whether convert_hf_to_gguf.py permutes q/k rows for it
// (LlamaModel.undo_permute). Qwen3's and Gemma 3's extra tensors (blk.N.attn_q_norm,
// attn_k_norm, post_attention_norm, post_ffw_norm) are norms, never adapted: an adapter file names
// only the linear layers, whose names these architectures share with llama.
var ggufArch = map[string]struct {
	name      string
	permuteQK bool
}{
	"LlamaForCausalLM":   {"llama", true},
	"MistralForCausalLM": {"llama", true},
	"Qwen2ForCausalLM":   {"qwen2", false},
	"Qwen3ForCausalLM":   {"qwen3", false},
	"Gemma3ForCausalLM":  {"gemma3", false},
	"GPT2LMHeadModel":    {"gpt2", false},
}

// ggufModules maps a module path to llama.cpp's tensor name (without ".weight").
var ggufModules = []struct {
	re   *regexp.Regexp
	name string
}{
	{regexp.MustCompile(`^model\.layers\.(\d+)\.self_attn\.q_proj$`), "blk.$1.attn_q"},
	{regexp.MustCompile(`^model\.layers\.(\d+)\.self_attn\.k_proj$`), "blk.$1.attn_k"},
	{regexp.MustCompile(`^model\.layers\.(\d+)\.self_attn\.v_proj$`), "blk.$1.attn_v"},
	{regexp.MustCompile(`^model\.layers\.(\d+)\.self_attn\.o_proj$`), "blk.$1.attn_output"},
	{regexp.MustCompile(`^model\.layers\.(\d+)\.mlp\.gate_proj$`), "blk.$1.ffn_gate"},
	{regexp.MustCompile(`^model\.layers\.(\d+)\.mlp\.up_proj$`), "blk.$1.ffn_up"},
	{regexp.MustCompile(`^model\.layers\.(\d+)\.mlp\.down_proj$`), "blk.$1.ffn_down"},
	{regexp.MustCompile(`^transformer\.h\.(\d+)\.attn\.c_attn$`), "blk.$1.attn_qkv"},
	{regexp.MustCompile(`^transformer\.h\.(\d+)\.attn\.c_proj$`), "blk.$1.attn_output"},
	{regexp.MustCompile(`^transformer\.h\.(\d+)\.mlp\.c_fc$`), "blk.$1.ffn_up"},
	{regexp.MustCompile(`^transformer\.h\.(\d+)\.mlp\.c_proj$`), "blk.$1.ffn_down"},
}

// GGUFTensorName returns llama.cpp's name of the weight of a module path
// ("model.layers.3.self_attn.q_proj" → "blk.3.attn_q.weight").
func GGUFTensorName(path string) (string, bool) {
	for _, m := range ggufModules {
		if m.re.MatchString(path) {
			return m.re.ReplaceAllString(path, m.name) + ".weight", true
		}
	}
	return "", false
}

// GGUFArchitecture returns the GGUF architecture name of a Hugging Face architecture, or an error
// naming the ones GGUF export knows.
func GGUFArchitecture(hfArch string) (string, error) {
	a, ok := ggufArch[hfArch]
	if !ok {
		return "", fmt.Errorf("export: GGUF has no architecture name for %q (GGUF export knows LlamaForCausalLM and MistralForCausalLM → llama, Qwen2ForCausalLM → qwen2, Qwen3ForCausalLM → qwen3, Gemma3ForCausalLM → gemma3, GPT2LMHeadModel → gpt2)", hfArch)
	}
	return a.name, nil
}

// ggufTensor is one tensor to write: numpy shape (slowest first) and float32 data.
type ggufTensor struct {
	name  string
	shape []int
	data  []float32
}

// GGUF writes out, a llama.cpp LoRA adapter file for the model m that a is attached to (see the
// package doc for the layout). The mixer is folded (A' = M·A); per-module scales that alpha / r
// cannot express are folded into lora_b. a and m are not modified. A gated adapter, an
// architecture GGUF cannot name, or a module llama.cpp has no tensor for is an error.
func GGUF(out string, m *model.Model, a *adapter.Adapter, force bool) error {
	if err := checkDest(out, force); err != nil {
		return err
	}
	cfg := m.Config
	arch, ok := ggufArch[cfg.Architecture]
	if !ok {
		_, err := GGUFArchitecture(cfg.Architecture)
		return err
	}
	// llama.cpp scales every module by alpha / r (r from lora_b); pick alpha so that the common
	// case needs no correction: lora_alpha, or lora_alpha·√r with rsLoRA (s = alpha/√r).
	alpha := a.Config.LoraAlpha
	if a.Config.UseRSLoRA {
		alpha *= math.Sqrt(float64(a.Config.R))
	}
	var ts []ggufTensor
	for _, l := range a.Linears {
		name, ok := GGUFTensorName(l.Path)
		if !ok {
			return fmt.Errorf("export: llama.cpp has no tensor for the adapted module %s", l.Path)
		}
		fa, ok := l.FoldedA() // (r, In) = M·A
		if !ok {
			return errGated("export to GGUF", l.Path)
		}
		r, in, outDim := l.R, l.In, l.Out
		b := append([]float32(nil), l.B...)
		if f := float64(l.Scale) * float64(r) / alpha; math.Abs(f-1) > 1e-6 {
			for i := range b {
				b[i] = float32(float64(b[i]) * f)
			}
		}
		if arch.permuteQK {
			switch {
			case ggufModuleIs(l.Path, "q_proj"):
				b = permuteRows(b, outDim, r, cfg.NumAttentionHeads)
			case ggufModuleIs(l.Path, "k_proj"):
				b = permuteRows(b, outDim, r, cfg.NumKeyValueHeads)
			}
		}
		for _, v := range [][]float32{fa, b} {
			for j, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("export: not exporting %s: a LoRA factor holds %v at %d", l.Path, x, j)
				}
			}
		}
		ts = append(ts, ggufTensor{name + ".lora_a", []int{r, in}, fa}, ggufTensor{name + ".lora_b", []int{outDim, r}, b})
	}
	var kv ggufKV
	kv.str("general.architecture", arch.name)
	kv.str("general.type", "adapter")
	kv.str("adapter.type", "lora")
	kv.f32("adapter.lora.alpha", float32(alpha))
	return writeFile(out, force, encodeGGUF(kv, ts))
}

func ggufModuleIs(path, leaf string) bool {
	return len(path) > len(leaf) && path[len(path)-len(leaf)-1:] == "."+leaf
}

// permuteRows applies convert_hf_to_gguf.py's LlamaModel.permute to the rows of w (rows, cols):
// per head of D = rows/heads rows, the rotary halves are interleaved,
//
//	new[h·D + 2j + s] = old[h·D + s·D/2 + j]   (s ∈ {0, 1}, j < D/2),
//
// the reshape(heads, 2, D/2, cols).swapaxes(1, 2) of the script.
func permuteRows(w []float32, rows, cols, heads int) []float32 {
	out := make([]float32, len(w))
	D := rows / heads
	for h := 0; h < heads; h++ {
		for j := 0; j < D/2; j++ {
			for s := 0; s < 2; s++ {
				dst, src := h*D+2*j+s, h*D+s*(D/2)+j
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

// ggufKV accumulates encoded key-value pairs.
type ggufKV struct {
	buf bytes.Buffer
	n   int
}

func putString(b *bytes.Buffer, s string) {
	binary.Write(b, binary.LittleEndian, uint64(len(s)))
	b.WriteString(s)
}

func (kv *ggufKV) str(key, v string) {
	putString(&kv.buf, key)
	binary.Write(&kv.buf, binary.LittleEndian, uint32(ggufTypeString))
	putString(&kv.buf, v)
	kv.n++
}

func (kv *ggufKV) f32(key string, v float32) {
	putString(&kv.buf, key)
	binary.Write(&kv.buf, binary.LittleEndian, uint32(ggufTypeFloat32))
	binary.Write(&kv.buf, binary.LittleEndian, v)
	kv.n++
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// encodeGGUF lays out a GGUF v3 file: header, key-values, tensor infos (dims fastest first, F32,
// offsets relative to the data section), padding to the alignment, then each tensor's data padded
// to the alignment.
func encodeGGUF(kv ggufKV, ts []ggufTensor) []byte {
	var b bytes.Buffer
	b.WriteString(ggufMagic)
	le := binary.LittleEndian
	binary.Write(&b, le, uint32(ggufVersion))
	binary.Write(&b, le, uint64(len(ts)))
	binary.Write(&b, le, uint64(kv.n))
	b.Write(kv.buf.Bytes())
	off := 0
	for _, t := range ts {
		putString(&b, t.name)
		binary.Write(&b, le, uint32(len(t.shape)))
		for i := len(t.shape) - 1; i >= 0; i-- {
			binary.Write(&b, le, uint64(t.shape[i]))
		}
		binary.Write(&b, le, uint32(GGMLTypeF32))
		binary.Write(&b, le, uint64(off))
		off = alignUp(off+4*len(t.data), ggufAlignment)
	}
	b.Write(make([]byte, alignUp(b.Len(), ggufAlignment)-b.Len()))
	start := b.Len()
	for _, t := range ts {
		var x [4]byte
		for _, v := range t.data {
			le.PutUint32(x[:], math.Float32bits(v))
			b.Write(x[:])
		}
		b.Write(make([]byte, alignUp(b.Len()-start, ggufAlignment)-(b.Len()-start)))
	}
	return b.Bytes()
}
