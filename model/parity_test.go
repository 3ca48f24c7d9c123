package model

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/safetensors"
)

// Tolerances against transformers float32 references (issue 2). The models are tiny, so float32
// summation-order differences stay near 1e-6; 1e-4 leaves room for long rows without hiding bugs.
const (
	tolLogits  = numtest.F32Model // max |Δ| of logits and hidden states
	tolLossRel = numtest.F32      // relative error of the loss
	tolBF16    = 1e-3             // max |Δ| of logits of the bf16 base model (weights converted to f32)
)

type reference struct {
	f *safetensors.File
}

func openRef(t *testing.T, path string) *reference {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &reference{f}
}

func (r *reference) floats(t *testing.T, name string) ([]float32, []int) {
	t.Helper()
	v, info, err := r.f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v, info.Shape
}

func (r *reference) ints(t *testing.T, name string) ([]int, []int) {
	t.Helper()
	v, info, err := r.f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out, info.Shape
}

// maxAbsDiff returns max |got − want| (+Inf for different lengths) and the largest |want|.
func maxAbsDiff(got, want []float32) (diff, scale float64) {
	if len(got) != len(want) {
		return math.Inf(1), 0
	}
	return numtest.MaxAbsDiff(got, want), numtest.MaxAbs(want)
}

func expectClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	d, s := maxAbsDiff(got, want)
	t.Logf("%s: max |Δ| %.3g (max |ref| %.3g)", name, d, s)
	if !(d <= tol) {
		t.Errorf("%s: max |Δ| %.3g > %.3g", name, d, tol)
	}
}

func TestForwardMatchesTransformers(t *testing.T) {
	for _, fam := range []string{"llama", "llama3", "qwen2", "gpt2", "qwen3", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			dir := shared.Path(t, "fixtures", "hf", fam)
			m, err := Load(filepath.Join(dir, "model"))
			if err != nil {
				t.Fatal(err)
			}
			ref := openRef(t, filepath.Join(dir, "reference.safetensors"))
			ids, shape := ref.ints(t, "input_ids")
			labels, _ := ref.ints(t, "labels")
			B, T := shape[0], shape[1]
			out, err := m.Forward(ids, B, T, true)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.floats(t, "logits")
			expectClose(t, "logits", out.Logits, want, tolLogits)
			for i, h := range out.Hidden {
				want, _ := ref.floats(t, fmt.Sprintf("hidden_states.%d", i))
				expectClose(t, fmt.Sprintf("hidden_states.%d", i), h, want, tolLogits)
			}
			if n := len(ref.f.Names()); n != 4+len(out.Hidden) {
				t.Errorf("reference has %d tensors, expected input_ids, labels, logits, loss and %d hidden states", n, len(out.Hidden))
			}
			loss, err := Loss(out.Logits, labels, B, T, m.Config.VocabSize)
			if err != nil {
				t.Fatal(err)
			}
			wl, _ := ref.floats(t, "loss")
			rel := math.Abs(loss-float64(wl[0])) / math.Abs(float64(wl[0]))
			t.Logf("loss %.8g, reference %.8g, relative error %.3g", loss, wl[0], rel)
			if !(rel <= tolLossRel) {
				t.Errorf("loss %.8g vs reference %.8g: relative error %.3g > %.3g", loss, wl[0], rel, tolLossRel)
			}
			sum, n, err := m.LossSum(ids, labels, B, T)
			if err != nil {
				t.Fatal(err)
			}
			if rel := math.Abs(sum/float64(n)-float64(wl[0])) / float64(wl[0]); !(rel <= tolLossRel) {
				t.Errorf("LossSum mean %.8g vs reference %.8g: relative error %.3g", sum/float64(n), wl[0], rel)
			}
		})
	}
}

func TestBF16BaseModelMatchesTransformers(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	refPath := shared.Path(t, "fixtures", "hf", "base", "reference.safetensors")
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref := openRef(t, refPath)
	for i := 0; ; i++ {
		name := fmt.Sprintf("input_ids.%d", i)
		if ref.f.Info(name) == nil {
			if i == 0 {
				t.Fatal("reference has no input_ids.0")
			}
			break
		}
		ids, shape := ref.ints(t, name)
		out, err := m.Forward(ids, shape[0], shape[1], false)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.floats(t, fmt.Sprintf("logits.%d", i))
		expectClose(t, fmt.Sprintf("logits.%d", i), out.Logits, want, tolBF16)
	}
}
