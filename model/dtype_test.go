package model

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

// halfDir writes family fam's tiny model as a checkpoint of dtype dt (BF16 or F16: weights
// rounded to it).
func halfDir(t *testing.T, fam string, dt safetensors.DType) string {
	t.Helper()
	f32 := tinyDir(t, fam, nil, nil)
	cfg, err := os.ReadFile(filepath.Join(f32, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	src := specSource(t, parseTiny(t, fam), 1)
	var ts []safetensors.Tensor
	for _, name := range src.Names() {
		ts = append(ts, safetensors.FromFloat32As(name, src[name].shape, src[name].v, dt))
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
	run, ids := runLoRA(t, m, B, T)
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

// runLoRA runs m (LoRA on every layer) on a fixed random batch: the logits of a forward pass, the
// training loss and every LoRA gradient; it also returns the batch's ids.
func runLoRA(t *testing.T, m *Model, B, T int) (bf16Run, []int) {
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
	return run, ids
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
				t.Fatalf("%s[%d]: %v (16-bit storage) vs %v (float32 storage)", what, i, x[i], y[i])
			}
		}
	}
	bits("logits", a.logits, b.logits)
	bits("cached logits", a.decode, b.decode)
	if a.loss != b.loss {
		t.Fatalf("loss %v (16-bit storage) vs %v (float32 storage)", a.loss, b.loss)
	}
	if len(a.grads) == 0 {
		t.Fatal("no adapter gradients")
	}
	for k, g := range a.grads {
		bits("gradient of "+k, g, b.grads[k])
	}
}

// half16 is the 16-bit patterns of a matrix held in h (heldBF16 or heldF16), nil when it is held
// otherwise.
func half16(w gemm.Weights, h held) []uint16 {
	if h == heldF16 {
		return w.F16
	}
	return w.BF16
}

// checkHeldIn fails t unless every matrix of m is held in h (heldBF16 or heldF16).
func checkHeldIn(t *testing.T, m *Model, h held) {
	t.Helper()
	if half16(m.Embed.Frozen, h) == nil || m.Embed.W != nil || half16(m.LMHead.Frozen, h) == nil {
		t.Fatalf("embedding / LM head not held in %v", h)
	}
	for _, l := range m.Linears() {
		if half16(l.Frozen, h) == nil || l.W != nil {
			t.Fatalf("%s not held in %v", l.Path, h)
		}
	}
}

func (h held) String() string { return [...]string{"f32", "bf16", "f16", "q8"}[h] }

// halves are the 16-bit forms: the checkpoint dtype and the --base-dtype that hold them.
var halves = []struct {
	h    held
	dt   safetensors.DType
	base BaseDtype
}{{heldBF16, safetensors.BF16, BaseBF16}, {heldF16, safetensors.F16, BaseF16}}

// TestHalfCheckpointHeldIn16BitsGivesBitIdenticalResults: a BF16 or F16 checkpoint, held in its
// own 16 bits by default (--base-dtype auto), gives the bits of the same checkpoint widened to
// float32 at load — logits, loss, LoRA gradients, cached decoding — on every family, and its
// matrices take half the bytes.
func TestHalfCheckpointHeldIn16BitsGivesBitIdenticalResults(t *testing.T) {
	smallAttnBlocks(t)
	for _, hv := range halves {
		for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3"} {
			t.Run(hv.h.String()+"/"+fam, func(t *testing.T) {
				dir := halfDir(t, fam, hv.dt)
				m16, err := Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				checkHeldIn(t, m16, hv.h)
				m32, err := LoadWith(dir, LoadOptions{Base: BaseF32})
				if err != nil {
					t.Fatal(err)
				}
				if m32.Embed.W == nil || m32.Linears()[0].W == nil {
					t.Fatal("--base-dtype f32 kept 16-bit storage")
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
					t.Errorf("%v base takes %d bytes, expected %d (float32: %d)", hv.h, got, want, m32.BaseBytes())
				}
				sameRuns(t, runBF16Case(t, m16, 2, 7), runBF16Case(t, m32, 2, 7))
			})
		}
	}
}

// TestBaseDtypeHalfRoundsTheCheckpoint: --base-dtype bf16 and f16 round a float32, bf16 or f16
// checkpoint's values to nearest even (Float32ToBF16, Float32ToF16: overflow to ±Inf), Conv1D
// weights transposed as loaded, and widening the rounded model gives the same results bit for bit.
func TestBaseDtypeHalfRoundsTheCheckpoint(t *testing.T) {
	dirs := map[string]string{"f32": tinyDir(t, "gpt2", nil, nil)} // Conv1D weights transposed on load
	for _, hv := range halves {
		dirs[hv.h.String()] = halfDir(t, "gpt2", hv.dt)
	}
	for from, dir := range dirs {
		m32, err := LoadWith(dir, LoadOptions{Base: BaseF32})
		if err != nil {
			t.Fatal(err)
		}
		for _, hv := range halves {
			m16, err := LoadWith(dir, LoadOptions{Base: hv.base})
			if err != nil {
				t.Fatal(err)
			}
			checkHeldIn(t, m16, hv.h)
			_, round := hv.h.dtype()
			for _, l := range m32.Linears() {
				h := half16(m16.Linear(l.Path).Frozen, hv.h)
				for i, v := range l.W {
					if h[i] != round(v) {
						t.Fatalf("%s checkpoint held in %v: %s[%d] = %#04x, expected round-to-nearest-even of %v = %#04x", from, hv.h, l.Path, i, h[i], v, round(v))
					}
				}
			}
			if from != "f32" {
				continue
			}
			// Widening gives the float32 model of the rounded weights: the same results, bit for bit.
			_, w := heldAndWidened(t, dir, hv.base)
			if w.Linears()[0].W == nil || w.Embed.Frozen.Len() != 0 {
				t.Fatalf("Widen left %v storage", hv.h)
			}
			sameRuns(t, runBF16Case(t, m16, 2, 7), runBF16Case(t, w, 2, 7))
		}
	}
}

// heldAndWidened loads the model in dir twice with --base-dtype base: as held, and widened to
// float32 after loading (Widen: the float32 model of the same values).
func heldAndWidened(t *testing.T, dir string, base BaseDtype) (held, wide *Model) {
	t.Helper()
	var err error
	if held, err = LoadWith(dir, LoadOptions{Base: base}); err != nil {
		t.Fatal(err)
	}
	if wide, err = LoadWith(dir, LoadOptions{Base: base}); err != nil {
		t.Fatal(err)
	}
	wide.Widen()
	return held, wide
}

// TestBase19mHeldIn16BitsGivesBitIdenticalResults: base-19m (a bf16 checkpoint) held in bf16
// (the default) or in f16 (--base-dtype f16: rounded from bf16) gives the bits of the same values
// widened to float32.
func TestBase19mHeldIn16BitsGivesBitIdenticalResults(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	for _, hv := range halves {
		held, wide := heldAndWidened(t, dir, hv.base)
		checkHeldIn(t, held, hv.h)
		sameRuns(t, runBF16Case(t, held, 2, 40), runBF16Case(t, wide, 2, 40))
	}
}

func TestParseBaseDtype(t *testing.T) {
	for in, want := range map[string]BaseDtype{"": BaseAuto, "auto": BaseAuto, "f32": BaseF32, "bf16": BaseBF16, "bfloat16": BaseBF16, "f16": BaseF16, "float16": BaseF16, "q8": BaseQ8} {
		if got, err := ParseBaseDtype(in); err != nil || got != want {
			t.Errorf("ParseBaseDtype(%q) = %q, %v; expected %q", in, got, err, want)
		}
	}
	if _, err := ParseBaseDtype("int4"); err == nil {
		t.Error("ParseBaseDtype accepted int4")
	}
}

func TestBatcherWithHalfBaseMatchesEachSequenceAlone(t *testing.T) {
	for _, fam := range []string{"llama", "gpt2", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			m := tinyModel(t, fam)
			hv := halves[1] // f16, gpt2 in bf16
			if fam == "gpt2" {
				hv = halves[0]
			}
			if err := m.Narrow(hv.base); err != nil {
				t.Fatal(err)
			}
			checkHeldIn(t, m, hv.h)
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
