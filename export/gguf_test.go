package export

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
)

// unpermuteRows inverts llama.cpp's q/k row order: GGUF row h·D + 2j + s holds HF row
// h·D + s·D/2 + j (the rotary halves interleaved).
func unpermuteRows(w []float32, rows, cols, heads int) []float32 {
	out := make([]float32, len(w))
	D := rows / heads
	for r := 0; r < rows; r++ {
		h, k := r/D, r%D
		j, s := k/2, k%2
		src := h*D + s*(D/2) + j
		copy(out[src*cols:(src+1)*cols], w[r*cols:(r+1)*cols])
	}
	return out
}

// TestGGUFAdapterHoldsFoldedLoRA: the GGUF file parses, has llama.cpp's metadata and tensor names,
// F32 lora_a (r, in) and lora_b (out, r), and alpha/r · lora_b · lora_a (q/k rows un-permuted
// for the llama architecture) equals the adapter's ΔW = s·B·M·A.
func TestGGUFAdapterHoldsFoldedLoRA(t *testing.T) {
	for _, c := range []struct{ family, dir, arch string }{
		{"llama", "moslora_r4", "llama"}, {"llama", "rslora_r8_qv", "llama"},
		{"qwen2", "moslora_r4", "qwen2"}, {"gpt2", "lora_r4", "gpt2"},
		{"qwen3", "lora_r4", "qwen3"}, {"gemma3", "lora_r4", "gemma3"},
	} {
		t.Run(c.family+"/"+c.dir, func(t *testing.T) {
			_, m, a, _, _, _ := fixture(t, c.family, c.dir)
			checkGGUF(t, m, a, c.arch)
		})
	}
}

func TestGGUFErrorsWriteNothing(t *testing.T) {
	_, m, a, _, _, _ := fixture(t, "llama", "moslora_r4")
	dir := t.TempDir()
	out := filepath.Join(dir, "a.gguf")
	m.Config.Architecture = "FalconForCausalLM" // a model GGUF export cannot name
	err := GGUF(out, m, a, false)
	if err == nil || !strings.Contains(err.Error(), "FalconForCausalLM") {
		t.Errorf("unknown architecture: %v, want an error naming it", err)
	}
	m.Config.Architecture = "LlamaForCausalLM"

	a.Detach()
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.Mixer, cfg.Subspaces = 4, adapter.MixerGated, 2
	cfg.TargetModules = adapter.Targets{List: []string{"v_proj"}}
	g, err := adapter.New(cfg, m, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := GGUF(out, m, g, false); err == nil || !strings.Contains(err.Error(), "gated") {
		t.Errorf("gated adapter: %v, want an error explaining the gated mixer", err)
	}
	if err := PEFT(filepath.Join(dir, "p"), g, false); err == nil || !strings.Contains(err.Error(), "gated") {
		t.Errorf("peft export of a gated adapter: %v", err)
	}
	if es := entries(t, dir); len(es) != 0 {
		t.Errorf("failed exports left %v", es)
	}
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := GGUF(out, m, a, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("existing file: %v, want an error naming --force", err)
	}
	if err := GGUF(out, m, a, true); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGGUF(out); err != nil {
		t.Errorf("forced export: %v", err)
	}
	if es := entries(t, dir); len(es) != 1 {
		t.Errorf("after a forced export the folder holds %v", es)
	}
}

func TestReadGGUFRejectsDamage(t *testing.T) {
	_, m, a, _, _, _ := fixture(t, "gpt2", "lora_r4")
	out := filepath.Join(t.TempDir(), "a.gguf")
	if err := GGUF(out, m, a, false); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	for _, n := range []int{0, 3, 20, len(b) / 2, len(b) - 1} {
		if _, err := parseGGUF(b[:n]); err == nil {
			t.Errorf("a file cut to %d of %d bytes parsed", n, len(b))
		}
	}
}

// checkGGUF exports a to GGUF and checks metadata, names, shapes, types and
// alpha/r · lora_b · lora_a = ΔW (q/k rows un-permuted for llama).
func checkGGUF(t *testing.T, m *model.Model, a *adapter.Adapter, arch string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "adapter.gguf")
	if err := GGUF(out, m, a, false); err != nil {
		t.Fatal(err)
	}
	f, err := ReadGGUF(out)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"general.architecture": arch, "general.type": "adapter", "adapter.type": "lora"} {
		if f.KV[k] != want {
			t.Errorf("%s = %v, want %v", k, f.KV[k], want)
		}
	}
	alpha, ok := f.KV["adapter.lora.alpha"].(float32)
	wantAlpha := a.Config.LoraAlpha
	if a.Config.UseRSLoRA {
		wantAlpha *= math.Sqrt(float64(a.Config.R))
	}
	if !ok || math.Abs(float64(alpha)-wantAlpha) > numtest.F32*wantAlpha {
		t.Errorf("adapter.lora.alpha = %v (%T), want float32 %v", f.KV["adapter.lora.alpha"], f.KV["adapter.lora.alpha"], wantAlpha)
	}
	if len(f.Tensors) != 2*len(a.Linears) {
		t.Errorf("%d tensors, want %d", len(f.Tensors), 2*len(a.Linears))
	}
	worst := 0.0
	for _, l := range a.Linears {
		name, ok := GGUFTensorName(l.Path)
		if !ok || !strings.HasPrefix(name, "blk.") {
			t.Fatalf("no GGUF name for %s", l.Path)
		}
		ta, tb := f.Tensor(name+".lora_a"), f.Tensor(name+".lora_b")
		if ta == nil || tb == nil {
			t.Fatalf("missing %s.lora_a / .lora_b", name)
		}
		if ta.Type != GGMLTypeF32 || tb.Type != GGMLTypeF32 ||
			len(ta.Dims) != 2 || ta.Dims[0] != uint64(l.In) || ta.Dims[1] != uint64(l.R) ||
			len(tb.Dims) != 2 || tb.Dims[0] != uint64(l.R) || tb.Dims[1] != uint64(l.Out) {
			t.Errorf("%s: lora_a ne %v type %d, lora_b ne %v type %d; want [%d %d] and [%d %d] F32", name, ta.Dims, ta.Type, tb.Dims, tb.Type, l.In, l.R, l.R, l.Out)
			continue
		}
		av, _ := f.Float32(name + ".lora_a")
		bv, _ := f.Float32(name + ".lora_b")
		if arch == "llama" && strings.HasSuffix(l.Path, "q_proj") {
			bv = unpermuteRows(bv, l.Out, l.R, m.Config.NumAttentionHeads)
		}
		if arch == "llama" && strings.HasSuffix(l.Path, "k_proj") {
			bv = unpermuteRows(bv, l.Out, l.R, m.Config.NumKeyValueHeads)
		}
		want, _ := l.DeltaW()
		s := float64(alpha) / float64(l.R)
		var d, norm float64
		for o := 0; o < l.Out; o++ {
			for i := 0; i < l.In; i++ {
				var acc float64
				for p := 0; p < l.R; p++ {
					acc += float64(bv[o*l.R+p]) * float64(av[p*l.In+i])
				}
				e := s*acc - float64(want[o*l.In+i])
				d += e * e
				norm += float64(want[o*l.In+i]) * float64(want[o*l.In+i])
			}
		}
		rel := math.Sqrt(d / norm)
		worst = math.Max(worst, rel)
		if !(rel <= numtest.F32) {
			t.Errorf("%s: ΔW from the GGUF factors differs from the adapter's by rel L2 %.3g", name, rel)
		}
	}
	t.Logf("%d modules, worst ΔW rel L2 err %.3g", len(a.Linears), worst)
}

// TestGGUFFoldsMixerAndPerModuleScales: a global mixer and rank / alpha patterns (scales alpha/r
// cannot express) survive the export: the factors still give each module's ΔW.
func TestGGUFFoldsMixerAndPerModuleScales(t *testing.T) {
	m, err := model.Load(filepath.Join(shared.Path(t, "fixtures", "hf", "llama"), "model"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.LoraAlpha, cfg.Mixer, cfg.Subspaces = 4, 8, adapter.MixerGlobal, 2
	cfg.TargetModules = adapter.Targets{List: []string{"q_proj", "k_proj", "v_proj", "o_proj"}}
	cfg.RankPattern = map[string]int{"o_proj": 2}
	cfg.AlphaPattern = map[string]float64{"v_proj": 32}
	a, err := adapter.New(cfg, m, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range a.Linears {
		for i := range l.B {
			l.B[i] = float32(i%5-2) * 0.1
		}
		pi := l.Mixer.(*mixer.Global).Pi
		for i := range pi {
			pi[i] = float32(i) * 0.7
		}
	}
	checkGGUF(t, m, a, "llama")
}
