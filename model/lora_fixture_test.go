package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/safetensors"
)

// tolGradRel bounds the relative L2 error of each adapter gradient against PEFT (issue 4).
const tolGradRel = numtest.F32Model

// loadPEFTLoRA attaches the plain LoRA adapter of dir (PEFT format) to m with the test-only
// loraDelta and returns the deltas by adapter key prefix "base_model.model.<path>".
func loadPEFTLoRA(t *testing.T, m *Model, dir string) map[string]*loraDelta {
	t.Helper()
	var cfg struct {
		R      int     `json:"r"`
		Alpha  float64 `json:"lora_alpha"`
		RSLoRA bool    `json:"use_rslora"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	s := cfg.Alpha / float64(cfg.R)
	if cfg.RSLoRA {
		s = cfg.Alpha / math.Sqrt(float64(cfg.R))
	}
	f, err := safetensors.Open(filepath.Join(dir, "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds := map[string]*loraDelta{}
	for _, name := range f.Names() {
		path, ok := strings.CutSuffix(strings.TrimPrefix(name, "base_model.model."), ".lora_A.weight")
		if !ok {
			continue
		}
		l := m.Linear(path)
		if l == nil {
			t.Fatalf("adapter key %s names no linear layer of the model", name)
		}
		A, ai, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		B, bi, err := f.Float32(strings.Replace(name, "lora_A", "lora_B", 1))
		if err != nil {
			t.Fatal(err)
		}
		r := ai.Shape[0]
		if ai.Shape[1] != l.In || bi.Shape[0] != l.Out || bi.Shape[1] != r {
			t.Fatalf("%s: A %v, B %v do not fit linear (%d → %d)", path, ai.Shape, bi.Shape, l.In, l.Out)
		}
		d := newLoRA(l.In, l.Out, r, float32(s), A, B)
		l.Delta = d
		ds["base_model.model."+path] = d
	}
	if len(ds) == 0 {
		t.Fatal("adapter has no lora_A tensors")
	}
	return ds
}

func TestFrozenBaseBackwardMatchesPEFTGradients(t *testing.T) {
	for _, c := range []struct{ fam, adapter string }{
		{"llama", "lora_r4"}, {"llama", "rslora_r8_qv"}, {"qwen2", "lora_r4"}, {"gpt2", "lora_r4"},
		{"qwen3", "lora_r4"}, {"gemma3", "lora_r4"},
	} {
		t.Run(c.fam+"/"+c.adapter, func(t *testing.T) {
			dir := shared.Path(t, "fixtures", "hf", c.fam)
			m, err := Load(filepath.Join(dir, "model"))
			if err != nil {
				t.Fatal(err)
			}
			ds := loadPEFTLoRA(t, m, filepath.Join(dir, c.adapter))
			ref := openRef(t, filepath.Join(dir, c.adapter, "reference.safetensors"))
			ids, shape := ref.ints(t, "input_ids")
			labels, _ := ref.ints(t, "labels")
			B, T := shape[0], shape[1]

			out, err := m.Forward(ids, B, T, false)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.floats(t, "logits")
			expectClose(t, "logits", out.Logits, want, tolLogits)

			loss, err := m.ForwardBackward(ids, labels, B, T)
			if err != nil {
				t.Fatal(err)
			}
			wl, _ := ref.floats(t, "loss")
			if rel := math.Abs(loss-float64(wl[0])) / float64(wl[0]); !(rel <= tolLossRel) {
				t.Errorf("loss %.8g vs reference %.8g (relative error %.3g)", loss, wl[0], rel)
			}
			worst, n := 0.0, 0
			for key, d := range ds {
				for _, g := range []struct {
					name string
					got  []float32
				}{{key + ".lora_A.weight", d.dA}, {key + ".lora_B.weight", d.dB}} {
					want, _ := ref.floats(t, "grad."+g.name)
					e := numtest.RelL2(g.got, want)
					worst = math.Max(worst, e)
					n++
					if !(e <= tolGradRel) {
						t.Errorf("grad.%s: relative L2 error %.3g > %.3g", g.name, e, tolGradRel)
					}
				}
			}
			t.Logf("%d adapter gradients: max relative L2 error %.3g", n, worst)
			if n != countPrefix(ref.f.Names(), "grad.") {
				t.Errorf("checked %d gradients, reference has %d", n, countPrefix(ref.f.Names(), "grad."))
			}
		})
	}
}

func countPrefix(names []string, p string) int {
	n := 0
	for _, s := range names {
		if strings.HasPrefix(s, p) {
			n++
		}
	}
	return n
}
