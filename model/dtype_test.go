package model

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/safetensors"
)

// bf16Dir writes family fam's tiny model as a BF16 checkpoint (weights rounded to bfloat16).
func bf16Dir(t *testing.T, fam string) string {
	t.Helper()
	f32 := tinyDir(t, fam, nil, nil)
	cfg, err := os.ReadFile(filepath.Join(f32, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	src := specSource(t, parseTiny(t, fam), 1)
	var ts []safetensors.Tensor
	for _, name := range src.Names() {
		ts = append(ts, safetensors.FromFloat32As(name, src[name].shape, src[name].v, safetensors.BF16))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bf16Run is what bitwise comparisons look at: logits, loss, every LoRA gradient and the logits
// of a cached decode (one token at a time: the small-m GEMM path).
type bf16Run struct {
	logits, decode []float32
	loss           float64
	grads          map[string][]float32
}

func runBF16Case(t *testing.T, m *Model, B, T int) bf16Run {
	t.Helper()
	r := rand.New(rand.NewSource(9))
	ids, labels := tinyBatch(r, m.Config.VocabSize, B, T)
	out, err := m.Forward(ids, B, T, false)
	if err != nil {
		t.Fatal(err)
	}
	run := bf16Run{logits: append([]float32(nil), out.Logits...), grads: map[string][]float32{}}
	ds := attachLoRA(m, rand.New(rand.NewSource(4)), 3)
	if run.loss, err = m.ForwardBackward(ids, labels, B, T); err != nil {
		t.Fatal(err)
	}
	for path, d := range ds {
		run.grads[path+".A"], run.grads[path+".B"] = d.dA, d.dB
	}
	kc := m.NewKVCache(T)
	for p := 0; p < T; p++ {
		lg, err := m.ForwardCached(ids[p:p+1], kc)
		if err != nil {
			t.Fatal(err)
		}
		run.decode = append(run.decode, lg...)
	}
	return run
}

// sameRuns fails t unless a and b agree bit for bit.
func sameRuns(t *testing.T, a, b bf16Run) {
	t.Helper()
	bits := func(what string, x, y []float32) {
		if len(x) != len(y) {
			t.Fatalf("%s: %d values vs %d", what, len(x), len(y))
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				t.Fatalf("%s[%d]: %v (bf16 storage) vs %v (float32 storage)", what, i, x[i], y[i])
			}
		}
	}
	bits("logits", a.logits, b.logits)
	bits("cached logits", a.decode, b.decode)
	if a.loss != b.loss {
		t.Fatalf("loss %v (bf16 storage) vs %v (float32 storage)", a.loss, b.loss)
	}
	if len(a.grads) == 0 {
		t.Fatal("no adapter gradients")
	}
	for k, g := range a.grads {
		bits("gradient of "+k, g, b.grads[k])
	}
}

// checkHeldInBF16 fails t unless every matrix of m is held in bfloat16.
func checkHeldInBF16(t *testing.T, m *Model) {
	t.Helper()
	if m.Embed.W16 == nil || m.Embed.W != nil || m.LMHead.W16 == nil {
		t.Fatal("embedding / LM head not held in bf16")
	}
	for _, l := range m.Linears() {
		if l.W16 == nil || l.W != nil {
			t.Fatalf("%s not held in bf16", l.Path)
		}
	}
}

func TestBF16CheckpointHeldIn16BitsGivesBitIdenticalResults(t *testing.T) {
	smallAttnBlocks(t)
	for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			dir := bf16Dir(t, fam)
			m16, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkHeldInBF16(t, m16)
			m32, err := LoadWith(dir, LoadOptions{Base: BaseF32})
			if err != nil {
				t.Fatal(err)
			}
			if m32.Embed.W16 != nil || m32.Linears()[0].W16 != nil {
				t.Fatal("--base-dtype f32 kept bf16 storage")
			}
			// Every matrix element saves 2 bytes; norms, biases and positions stay float32.
			matrices := len(m32.Embed.W)
			if m32.LMHead != m32.Embed {
				matrices += len(m32.LMHead.W)
			}
			for _, l := range m32.Linears() {
				matrices += len(l.W)
			}
			if got, want := m16.BaseBytes(), m32.BaseBytes()-2*int64(matrices); got != want {
				t.Errorf("bf16 base takes %d bytes, expected %d (float32: %d)", got, want, m32.BaseBytes())
			}
			sameRuns(t, runBF16Case(t, m16, 2, 7), runBF16Case(t, m32, 2, 7))
		})
	}
}

func TestBaseDtypeBF16RoundsAFloat32Checkpoint(t *testing.T) {
	dir := tinyDir(t, "gpt2", nil, nil) // F32 checkpoint, Conv1D weights transposed on load
	m16, err := LoadWith(dir, LoadOptions{Base: BaseBF16})
	if err != nil {
		t.Fatal(err)
	}
	checkHeldInBF16(t, m16)
	m32, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m32.Linears() {
		h := m16.Linear(l.Path).W16
		for i, v := range l.W {
			if h[i] != safetensors.Float32ToBF16(v) {
				t.Fatalf("%s[%d]: bf16 %#04x, expected round-to-nearest-even of %v = %#04x", l.Path, i, h[i], v, safetensors.Float32ToBF16(v))
			}
		}
	}
	// Widening gives the float32 model of the rounded weights: the same results, bit for bit.
	w, err := LoadWith(dir, LoadOptions{Base: BaseBF16})
	if err != nil {
		t.Fatal(err)
	}
	w.Widen()
	if w.Linears()[0].W == nil || w.Embed.W16 != nil {
		t.Fatal("Widen left bf16 storage")
	}
	sameRuns(t, runBF16Case(t, m16, 2, 7), runBF16Case(t, w, 2, 7))
}

func TestBase19mHeldInBF16GivesBitIdenticalResults(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	m16, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkHeldInBF16(t, m16)
	m32, err := LoadWith(dir, LoadOptions{Base: BaseF32})
	if err != nil {
		t.Fatal(err)
	}
	sameRuns(t, runBF16Case(t, m16, 2, 40), runBF16Case(t, m32, 2, 40))
}

func TestParseBaseDtype(t *testing.T) {
	for in, want := range map[string]BaseDtype{"": BaseAuto, "auto": BaseAuto, "f32": BaseF32, "bf16": BaseBF16, "bfloat16": BaseBF16} {
		if got, err := ParseBaseDtype(in); err != nil || got != want {
			t.Errorf("ParseBaseDtype(%q) = %q, %v; expected %q", in, got, err, want)
		}
	}
	if _, err := ParseBaseDtype("int4"); err == nil {
		t.Error("ParseBaseDtype accepted int4")
	}
}

func TestBatcherWithBF16BaseMatchesEachSequenceAlone(t *testing.T) {
	for _, fam := range []string{"llama", "gpt2", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			m := tinyModel(t, fam)
			if err := m.Narrow(); err != nil {
				t.Fatal(err)
			}
			checkHeldInBF16(t, m)
			r := rand.New(rand.NewSource(6))
			da := detachedLoRA(m, r, 2)
			var seqs []batchSeq
			for i, d := range []*testDeltas{da, nil, da, da, da, da} {
				ids := make([]int, 1+(i*3)%4)
				for j := range ids {
					ids[j] = r.Intn(m.Config.VocabSize)
				}
				seqs = append(seqs, batchSeq{deltas: d, prompt: ids, join: i % 2})
			}
			checkBatchedMatchesAlone(t, m, seqs, 3)
		})
	}
}
