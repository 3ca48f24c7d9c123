package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/safetensors"
)

// writeSafetensors writes an F32 safetensors file (test helper independent of the writer in
// package safetensors).
func writeSafetensors(t *testing.T, path string, src memSource) {
	t.Helper()
	hdr := map[string]any{}
	var data []byte
	for _, name := range src.Names() {
		tn := src[name]
		begin := len(data)
		for _, v := range tn.v {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		hdr[name] = map[string]any{"dtype": "F32", "shape": tn.shape, "data_offsets": []int{begin, len(data)}}
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyDir writes a model folder of family fam after letting edit change the config JSON and the
// tensors.
func tinyDir(t *testing.T, fam string, editConfig func(map[string]any), editTensors func(memSource)) string {
	t.Helper()
	dir := t.TempDir()
	cfg := parseTiny(t, fam)
	src := specSource(t, cfg, 1)
	if editTensors != nil {
		editTensors(src)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(tinyConfigs[fam]), &raw); err != nil {
		t.Fatal(err)
	}
	if editConfig != nil {
		editConfig(raw)
	}
	b, _ := json.Marshal(raw)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), src)
	return dir
}

func TestLoadTinyFoldersOfEveryFamily(t *testing.T) {
	for fam := range tinyConfigs {
		if _, err := Load(tinyDir(t, fam, nil, nil)); err != nil {
			t.Errorf("%s: %v", fam, err)
		}
	}
}

// TestLoadErrorsNameTheProblem: each user-caused loading error is returned (never a panic) and
// its text names what is wrong.
func TestLoadErrorsNameTheProblem(t *testing.T) {
	cases := []struct {
		name   string
		fam    string
		config func(map[string]any)
		tensor func(memSource)
		want   []string
	}{
		{"unknown architecture", "llama", func(c map[string]any) { c["architectures"] = []string{"FalconForCausalLM"} }, nil,
			[]string{"FalconForCausalLM", "config.json"}},
		{"missing tensor", "llama", nil, func(s memSource) { delete(s, "model.layers.1.mlp.up_proj.weight") },
			[]string{"missing tensor", "model.layers.1.mlp.up_proj.weight", "model.safetensors"}},
		{"missing lm_head when untied", "llama", nil, func(s memSource) { delete(s, "lm_head.weight") },
			[]string{"missing tensor", "lm_head.weight"}},
		{"unexpected tensor", "qwen2", nil, func(s memSource) {
			s["model.layers.0.self_attn.o_proj.bias"] = memTensor{[]int{16}, make([]float32, 16)}
		},
			[]string{"unexpected tensor", "model.layers.0.self_attn.o_proj.bias"}},
		{"lm_head when tied", "gpt2", nil, func(s memSource) { s["lm_head.weight"] = memTensor{[]int{23, 16}, make([]float32, 23*16)} },
			[]string{"unexpected tensor", "lm_head.weight"}},
		{"wrong shape", "gpt2", nil, func(s memSource) {
			s["transformer.h.0.attn.c_attn.weight"] = memTensor{[]int{48, 16}, make([]float32, 48*16)}
		}, []string{"transformer.h.0.attn.c_attn.weight", "[48 16]", "[16 48]"}},
		{"bad rope type", "llama", func(c map[string]any) { c["rope_scaling"] = map[string]any{"rope_type": "yarn", "factor": 2} }, nil,
			[]string{"yarn"}},
		{"heads not a multiple of kv heads", "llama", func(c map[string]any) { c["num_key_value_heads"] = 3 }, nil,
			[]string{"num_key_value_heads"}},
		{"unknown activation", "gpt2", func(c map[string]any) { c["activation_function"] = "relu" }, nil,
			[]string{"relu", "activation_function"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(tinyDir(t, c.fam, c.config, c.tensor))
			if err == nil {
				t.Fatal("Load succeeded, expected an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty folder: error %v, expected one naming config.json", err)
	}
}

func TestGPT2HubKeysWithoutPrefixLoad(t *testing.T) {
	dir := tinyDir(t, "gpt2", nil, func(s memSource) {
		for k, v := range s {
			delete(s, k)
			s[strings.TrimPrefix(k, "transformer.")] = v
		}
		s["h.0.attn.bias"] = memTensor{[]int{1, 1, 8, 8}, make([]float32, 64)} // mask buffer
	})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Linears()[0].Path != "transformer.h.0.attn.c_attn" || !m.Linears()[0].Conv1D {
		t.Errorf("first linear %q (Conv1D %v), expected transformer.h.0.attn.c_attn with Conv1D", m.Linears()[0].Path, m.Linears()[0].Conv1D)
	}
}

func TestConfigV4AndV5FormsAgree(t *testing.T) {
	v5 := `{"architectures":["LlamaForCausalLM"],"vocab_size":384,"hidden_size":64,"intermediate_size":160,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"rms_norm_eps":1e-5,
		"rope_parameters":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":16,
		"rope_theta":500000.0,"rope_type":"llama3"},"tie_word_embeddings":true,"dtype":"bfloat16"}`
	v4 := `{"architectures":["LlamaForCausalLM"],"vocab_size":384,"hidden_size":64,"intermediate_size":160,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"rms_norm_eps":1e-5,
		"rope_theta":500000.0,"rope_scaling":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
		"original_max_position_embeddings":16,"rope_type":"llama3"},"tie_word_embeddings":true,"torch_dtype":"bfloat16"}`
	a, err := ParseConfig([]byte(v5))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseConfig([]byte(v4))
	if err != nil {
		t.Fatal(err)
	}
	if a.Rope != b.Rope || a.WeightDType != b.WeightDType || a.WeightDType != "bfloat16" || !a.Tied || !b.Tied {
		t.Errorf("v5 %+v %s tied=%v; v4 %+v %s tied=%v", a.Rope, a.WeightDType, a.Tied, b.Rope, b.WeightDType, b.Tied)
	}
	if a.Rope.RopeType != "llama3" || a.Rope.RopeTheta != 500000 {
		t.Errorf("rope %+v, expected llama3 with theta 500000", a.Rope)
	}
	// v4 with no rope_scaling: default rope with the top-level theta.
	c, err := ParseConfig([]byte(strings.Replace(v4, `"rope_scaling"`, `"unused"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rope.RopeType != "default" || c.Rope.RopeTheta != 500000 {
		t.Errorf("rope %+v, expected default with theta 500000", c.Rope)
	}
}

func TestBadBatchesAreErrors(t *testing.T) {
	m := tinyModel(t, "gpt2")
	if _, err := m.Forward([]int{1, 2, 23}, 1, 3, false); err == nil || !strings.Contains(err.Error(), "23") {
		t.Errorf("out-of-vocabulary id: error %v", err)
	}
	if _, err := m.Forward(make([]int, 9), 1, 9, false); err == nil || !strings.Contains(err.Error(), "n_positions") {
		t.Errorf("sequence past n_positions: error %v", err)
	}
	if _, err := m.Forward(make([]int, 5), 2, 3, false); err == nil {
		t.Error("mismatched batch shape: no error")
	}
	if _, err := m.ForwardBackward([]int{1, 2, 3}, []int{1, 2, 99}, 1, 3); err == nil || !strings.Contains(err.Error(), "99") {
		t.Errorf("bad label: error %v", err)
	}
}

func TestShardedCheckpointLoadsLikeSingleFile(t *testing.T) {
	src := shared.Path(t, "fixtures", "hf", "llama", "model")
	f, err := safetensors.Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tensors []safetensors.Tensor
	for _, n := range f.Names() {
		v, info, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, safetensors.FromFloat32(n, info.Shape, v))
	}
	dir := t.TempDir()
	if err := safetensors.WriteSharded(dir, tensors, nil, 100_000); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, safetensors.IndexFileName)); err != nil {
		t.Fatalf("writer produced no index: %v", err)
	}
	a, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{1, 5, 9, 200, 3, 77}
	oa, _ := a.Forward(ids, 1, len(ids), false)
	ob, _ := b.Forward(ids, 1, len(ids), false)
	if d, _ := maxAbsDiff(oa.Logits, ob.Logits); d != 0 {
		t.Errorf("sharded model logits differ by %g", d)
	}
}

func TestSlidingWindowLayers(t *testing.T) {
	base := `{"architectures":["%s"],"vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":3,
		"num_attention_heads":2,"sliding_window":4%s}`
	for _, c := range []struct {
		arch, extra string
		want        []int
	}{
		{"MistralForCausalLM", ``, []int{4, 4, 4}},
		{"Qwen2ForCausalLM", `,"use_sliding_window":false`, []int{0, 0, 0}},
		{"Qwen2ForCausalLM", `,"use_sliding_window":true,"max_window_layers":1`, []int{0, 4, 4}},
		{"Qwen2ForCausalLM", `,"use_sliding_window":true,"layer_types":["sliding_attention","full_attention","sliding_attention"]`, []int{4, 0, 4}},
		{"LlamaForCausalLM", ``, []int{0, 0, 0}},
		{"Qwen3ForCausalLM", `,"use_sliding_window":true,"max_window_layers":2`, []int{0, 0, 4}},
		{"Gemma3ForCausalLM", `,"sliding_window_pattern":2`, []int{4, 0, 4}},
		{"Gemma3ForCausalLM", `,"_sliding_window_pattern":3`, []int{4, 4, 0}},
		{"Gemma3ForCausalLM", `,"layer_types":["full_attention","sliding_attention","full_attention"]`, []int{0, 4, 0}},
	} {
		cfg, err := ParseConfig([]byte(fmt.Sprintf(base, c.arch, c.extra)))
		if err != nil {
			t.Fatalf("%s %s: %v", c.arch, c.extra, err)
		}
		if !slices.Equal(cfg.Windows, c.want) {
			t.Errorf("%s %s: windows %v, expected %v", c.arch, c.extra, cfg.Windows, c.want)
		}
	}
	if _, err := ParseConfig([]byte(fmt.Sprintf(base, "LlamaForCausalLM", `,"layer_types":["sliding_attention","full_attention","full_attention"]`))); err == nil {
		t.Error("sliding layer without a window: no error")
	}
}

func TestGemma3ConfigV4AndV5FormsAgree(t *testing.T) {
	v5 := `{"architectures":["Gemma3ForCausalLM"],"vocab_size":10,"hidden_size":8,"intermediate_size":8,
		"num_hidden_layers":2,"num_attention_heads":2,"head_dim":4,"sliding_window":4,"query_pre_attn_scalar":4,
		"layer_types":["sliding_attention","full_attention"],
		"rope_parameters":{"full_attention":{"rope_type":"linear","factor":8.0,"rope_theta":1000000.0},
		"sliding_attention":{"rope_type":"default","rope_theta":10000.0}}}`
	v4 := `{"architectures":["Gemma3ForCausalLM"],"vocab_size":10,"hidden_size":8,"intermediate_size":8,
		"num_hidden_layers":2,"num_attention_heads":2,"head_dim":4,"sliding_window":4,"query_pre_attn_scalar":4,
		"sliding_window_pattern":2,"rope_theta":1000000.0,"rope_local_base_freq":10000.0,
		"rope_scaling":{"rope_type":"linear","factor":8.0}}`
	a, err := ParseConfig([]byte(v5))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseConfig([]byte(v4))
	if err != nil {
		t.Fatal(err)
	}
	want := RopeParameters{RopeType: "linear", RopeTheta: 1e6, Factor: 8}
	wantLocal := RopeParameters{RopeType: "default", RopeTheta: 1e4}
	for _, c := range []*Config{a, b} {
		if c.Rope != want || c.RopeLocal != wantLocal || !slices.Equal(c.Windows, []int{4, 0}) {
			t.Errorf("rope %+v, local %+v, windows %v; expected %+v, %+v, [4 0]", c.Rope, c.RopeLocal, c.Windows, want, wantLocal)
		}
		if !c.Tied || c.NormOffset != 1 || !c.QKNorm || !c.PostNorms || c.EmbedScale != float32(math.Sqrt(8)) || c.AttnScale != 0.5 {
			t.Errorf("derived Gemma settings: tied %v, norm offset %v, q/k norm %v, post norms %v, embed scale %v, attention scale %v",
				c.Tied, c.NormOffset, c.QKNorm, c.PostNorms, c.EmbedScale, c.AttnScale)
		}
	}
	bad := strings.Replace(v5, `"query_pre_attn_scalar":4`, `"query_pre_attn_scalar":4,"attn_logit_softcapping":-1`, 1)
	if _, err := ParseConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), "attn_logit_softcapping") {
		t.Errorf("negative attention softcap: error %v, expected one naming attn_logit_softcapping", err)
	}
}

// TestGemma3AttentionSoftcapping: the cap changes the logits (it is applied, in the batch and
// the cached paths alike — see TestCachedForwardMatchesUncached), and a cap far above every score
// gives the uncapped logits.
func TestGemma3AttentionSoftcapping(t *testing.T) {
	m := tinyModel(t, "gemma3")
	ids := []int{3, 1, 4, 1, 5, 9, 2, 6}
	logits := func(c float32) []float32 {
		m.lay.attnCap = c
		out, err := m.Forward(ids, 1, len(ids), false)
		if err != nil {
			t.Fatal(err)
		}
		return out.Logits
	}
	capped, huge, none := logits(1.5), logits(1e6), logits(0)
	if d := numtest.MaxAbsDiff(capped, none); !(d > 1e-2) {
		t.Errorf("attention softcap 1.5 moves the logits by only %.3g", d)
	}
	expectClose(t, "cap 1e6 vs none", huge, none, numtest.F32)
}

func TestGemma3FinalLogitSoftcapping(t *testing.T) {
	m := tinyModel(t, "gemma3")
	cap := m.lay.logitCap
	ids := []int{3, 1, 4, 1, 5, 9, 2, 6}
	capped, err := m.Forward(ids, 1, len(ids), false)
	if err != nil {
		t.Fatal(err)
	}
	m.lay.logitCap = 0
	raw, err := m.Forward(ids, 1, len(ids), false)
	if err != nil {
		t.Fatal(err)
	}
	if numtest.MaxAbs(raw.Logits) <= float64(cap) {
		t.Fatalf("uncapped logits stay within ±%g: the test would not see the cap", cap)
	}
	want := make([]float32, len(raw.Logits))
	for i, z := range raw.Logits {
		want[i] = float32(float64(cap) * math.Tanh(float64(z)/float64(cap)))
	}
	expectClose(t, "capped logits", capped.Logits, want, numtest.F32)
}
