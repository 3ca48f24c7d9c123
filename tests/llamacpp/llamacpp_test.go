package llamacpp

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
)

// Tolerances, justified once:
//   - tolLogits: f32 files and an f32 KV cache, same weights; llama.cpp's CPU kernels sum in
//     another order, so logits differ by float32 rounding times the depth; 1e-3 is the issue's
//     bound (measured: see the test log, about 1e-5). llama.cpp's default f16 KV cache alone
//     moves them by about 5e-3, so the greedy-only jobs keep that default.
//   - q8_0 greedy: 8-bit weights (and ggml's 8-bit activations in the dot products) may flip a
//     near tie; allowed on at most maxQ8Flips of the prompts, and only where our own logits for
//     the two tokens are within tieGap of each other (a real tie, not a broken model).
//   - pplMargin: relative perplexity difference on held-out text of 16-bit and 8-bit files
//     against ours at f32: rounding weights to f16 changes nothing visible, Q8_0 (8-bit weights
//     and, in ggml's dot products, 8-bit activations) costs a fraction of a percent on this model.
const (
	tolLogits  = 1e-3
	maxNew     = 16
	maxQ8Flips = 1
	tieGap     = 0.25
)

var pplMargin = map[export.GGUFOutType]float64{export.OutF16: 0.002, export.OutQ8_0: 0.02}

var prompts = []string{
	"The history of the United States",
	"func main() {\n\tfmt.Println(",
	"It was a dark and stormy night; the rain fell in torrents",
	"ABANDON, v. t. To give up",
	"Fellow-citizens of the Senate and House of Representatives:",
	"Once upon a time, there was a little girl who",
}

// llamaCpp returns the node binary and run.mjs, skipping when Node or the package is missing.
func llamaCpp(t *testing.T) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found on PATH: the llama.cpp integration test needs Node ≥ 20 and `tests/llamacpp/install.sh`")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "node-llama-cpp", "package.json")); err != nil {
		t.Skip("node-llama-cpp is not installed: run `tests/llamacpp/install.sh` (as .ci/run does) to run the llama.cpp integration test")
	}
	abs, err := filepath.Abs("run.mjs")
	if err != nil {
		t.Fatal(err)
	}
	return node, abs
}

type job struct {
	Model       string       `json:"model"`
	Loras       []lora       `json:"loras,omitempty"`
	Threads     int          `json:"threads"`
	ContextSize int          `json:"contextSize"`
	Tokenize    []string     `json:"tokenize,omitempty"`
	Generate    []genRequest `json:"generate,omitempty"`
	LogitsDir   string       `json:"logitsDir,omitempty"`
	KVF32       bool         `json:"kvF32,omitempty"` // f32 KV cache (llama.cpp's default is f16)
	Perplexity  *struct {
		IDs []int `json:"ids"`
	} `json:"perplexity,omitempty"`
}

type lora struct {
	Path  string  `json:"path"`
	Scale float64 `json:"scale"`
}

type genRequest struct {
	IDs    []int `json:"ids"`
	MaxNew int   `json:"maxNew"`
}

type result struct {
	Tokenize [][]int `json:"tokenize"`
	Generate []struct {
		IDs []int `json:"ids"`
	} `json:"generate"`
	Perplexity struct {
		NLL float64 `json:"nll"`
		N   int     `json:"n"`
	} `json:"perplexity"`
}

// run runs the jobs in one llama.cpp process (Node, the library and each model load once).
func run(t *testing.T, jobs []job) []result {
	t.Helper()
	node, script := llamaCpp(t)
	for i := range jobs {
		jobs[i].Threads, jobs[i].ContextSize = 1, 512
	}
	b, _ := json.Marshal(map[string]any{"jobs": jobs})
	f := filepath.Join(t.TempDir(), "jobs.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, f)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llama.cpp run failed: %v\n%s", err, stderr.String())
	}
	var r struct{ Results []result }
	if err := json.Unmarshal(out, &r); err != nil || len(r.Results) != len(jobs) {
		t.Fatalf("llama.cpp output (%d results for %d jobs): %v\n%s", len(r.Results), len(jobs), err, out)
	}
	return r.Results
}

// ours is `moslora generate` in-process: greedy ids and the logits of every step.
func ours(t *testing.T, m *model.Model, prompt []int, stop []int) (ids []int, logits [][]float32) {
	t.Helper()
	res, err := generate.Generate(m, prompt, generate.Options{MaxNewTokens: maxNew, StopIDs: stop}, func(id int, l []float32) error {
		logits = append(logits, append([]float32(nil), l...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Generated(), logits
}

// setup holds what every case shares: base-19m, its tokenizer, the encoded prompts, a temp dir.
type setup struct {
	base    string
	m       *model.Model
	tok     *tokenizer.Tokenizer
	prompts [][]int
	stop    []int
	dir     string
}

func newSetup(t *testing.T) *setup {
	llamaCpp(t)
	s := &setup{base: shared.Path(t, "models", "base-19m"), dir: t.TempDir()}
	var err error
	if s.m, err = model.Load(s.base); err != nil {
		t.Fatal(err)
	}
	if s.tok, err = tokenizer.Load(s.base); err != nil {
		t.Fatal(err)
	}
	for _, p := range prompts {
		s.prompts = append(s.prompts, s.tok.Encode(p, true))
	}
	if s.stop, err = generate.StopIDsFromModelDir(s.base); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *setup) exportModel(t *testing.T, dir string, ty export.GGUFOutType) string {
	t.Helper()
	out := filepath.Join(s.dir, filepath.Base(dir)+"-"+ty.String()+".gguf")
	if _, err := export.GGUFModel(out, dir, ty, false, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

// genJob asks llama.cpp for the greedy continuations of every prompt (and their logits).
func (s *setup) genJob(t *testing.T, j job, logits bool) job {
	for _, p := range s.prompts {
		j.Generate = append(j.Generate, genRequest{p, maxNew})
	}
	if logits {
		j.LogitsDir, j.KVF32 = t.TempDir(), true
	}
	return j
}

// check compares llama.cpp's answer r to job j with `moslora generate` on m: greedy ids equal,
// and with logits the step logits within tolLogits.
func (s *setup) check(t *testing.T, what string, m *model.Model, j job, r result, flips int) {
	t.Helper()
	if len(r.Generate) != len(s.prompts) {
		t.Fatalf("%s: llama.cpp answered %d prompts, want %d", what, len(r.Generate), len(s.prompts))
	}
	tokens, worst := 0, 0.0
	for i, p := range s.prompts {
		want, wantLogits := ours(t, m, p, s.stop)
		got := r.Generate[i].IDs
		if !equal(got, want) {
			k := firstDiff(got, want)
			gap := math.Inf(1)
			if k < len(got) && k < len(want) {
				gap = float64(wantLogits[k][want[k]] - wantLogits[k][got[k]])
			}
			if flips > 0 && gap <= tieGap {
				flips--
				t.Logf("%s: prompt %d: llama.cpp picks %d where we pick %d at step %d, a near tie (our logits %.3g apart); %d identical tokens before it", what, i, got[k], want[k], k, gap, k)
				tokens += k
				continue
			}
			t.Errorf("%s: prompt %d %v: llama.cpp %v, moslora generate %v (first difference at step %d, our logit gap %.3g)", what, i, p, got, want, k, gap)
			continue
		}
		tokens += len(got)
		if j.LogitsDir == "" {
			continue
		}
		ll := readF32(t, filepath.Join(j.LogitsDir, fmt.Sprintf("gen%d.f32", i)))
		V := m.Config.VocabSize
		if len(ll) != len(wantLogits)*V {
			t.Fatalf("%s: prompt %d: llama.cpp wrote %d logits, want %d steps × %d", what, i, len(ll), len(wantLogits), V)
		}
		for k, w := range wantLogits {
			for v := range V {
				worst = math.Max(worst, math.Abs(float64(ll[k*V+v])-float64(w[v])))
			}
		}
	}
	if j.LogitsDir == "" {
		t.Logf("%s: %d prompts, %d generated tokens identical", what, len(s.prompts), tokens)
		return
	}
	t.Logf("%s: %d prompts, %d generated tokens identical; logits max |Δ| %.3g", what, len(s.prompts), tokens, worst)
	if !(worst <= tolLogits) {
		t.Errorf("%s: logits differ by up to %.3g > %g", what, worst, tolLogits)
	}
}

// TestLlamaCppGreedyEqualsGenerate exports base-19m (f32, q8_0), a LoRA and a MoSLoRA adapter
// (GGUF adapters on the f32 model; MoSLoRA also at scale 0.5 as llama.cpp's --lora-scaled applies it)
// and both merged models (f32), runs them all in one llama.cpp process, and compares every greedy
// continuation with ours.
func TestLlamaCppGreedyEqualsGenerate(t *testing.T) {
	s := newSetup(t)
	f32 := s.exportModel(t, s.base, export.OutF32)
	type tcase struct {
		what  string
		m     *model.Model
		j     job
		scale float32 // adapter cases: llama.cpp's --lora-scaled factor, applied to ours too
	}
	cases := []tcase{
		{"base f32", s.m, s.genJob(t, job{Model: f32}, true), 0},
		{"base f32 f16-kv", s.m, s.genJob(t, job{Model: f32}, false), 0},
		{"base q8_0", s.m, s.genJob(t, job{Model: s.exportModel(t, s.base, export.OutQ8_0)}, false), 0},
	}
	adapters := map[string]*adapter.Adapter{}
	for _, c := range []struct{ name, mixer string }{{"lora", adapter.MixerIdentity}, {"moslora", adapter.MixerDense}} {
		a := trainedLike(t, s.m, c.mixer)
		gg := filepath.Join(s.dir, c.name+".gguf")
		if err := export.GGUF(gg, s.m, a, false); err != nil {
			t.Fatal(err)
		}
		merged := filepath.Join(s.dir, c.name+"-merged")
		if err := export.Merged(merged, s.base, s.m, a, false); err != nil {
			t.Fatal(err)
		}
		mm, err := model.Load(merged)
		if err != nil {
			t.Fatal(err)
		}
		a.Detach()
		adapters[c.name+" adapter"], adapters[c.name+" adapter scaled 0.5"] = a, a
		cases = append(cases,
			tcase{c.name + " adapter", s.m, s.genJob(t, job{Model: f32, Loras: []lora{{gg, 1}}}, true), 1},
			tcase{c.name + " merged", mm, s.genJob(t, job{Model: s.exportModel(t, merged, export.OutF32)}, true), 0})
		if c.mixer == adapter.MixerDense {
			cases = append(cases, tcase{c.name + " adapter scaled 0.5", s.m, s.genJob(t, job{Model: f32, Loras: []lora{{gg, 0.5}}}, true), 0.5})
		}
	}
	jobs := make([]job, len(cases))
	for i, c := range cases {
		jobs[i] = c.j
	}
	rs := run(t, jobs)
	var baseIDs [][]int
	for _, p := range s.prompts {
		ids, _ := ours(t, s.m, p, s.stop)
		baseIDs = append(baseIDs, ids)
	}
	for i, c := range cases {
		t.Run(strings.ReplaceAll(c.what, " ", "/"), func(t *testing.T) {
			if a := adapters[c.what]; a != nil {
				if err := a.Attach(); err != nil {
					t.Fatal(err)
				}
				defer a.Detach()
				for _, l := range a.Linears {
					l.Scale *= c.scale
				}
				defer func() {
					for _, l := range a.Linears {
						l.Scale /= c.scale
					}
				}()
				// The adapter must matter, or the comparison proves nothing about it.
				changed := 0
				for k, p := range s.prompts {
					if got, _ := ours(t, s.m, p, s.stop); !equal(got, baseIDs[k]) {
						changed++
					}
				}
				if changed < len(s.prompts)/2 {
					t.Fatalf("%s: the random adapter changes the greedy continuation of only %d of %d prompts; the test would barely see it", c.what, changed, len(s.prompts))
				}
			}
			flips := 0
			if strings.Contains(c.what, "q8_0") {
				flips = maxQ8Flips
			}
			s.check(t, c.what, c.m, c.j, rs[i], flips)
		})
	}
}

// trainedLike is an adapter on every linear layer with B drawn at random (as after training)
// instead of zero, so that it changes the model's output.
func trainedLike(t *testing.T, m *model.Model, mixer string) *adapter.Adapter {
	t.Helper()
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.LoraAlpha, cfg.Mixer = 8, 16, mixer
	cfg.TargetModules = adapter.Targets{List: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}
	a, err := adapter.New(cfg, m, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 17))
	for _, l := range a.Linears {
		for i := range l.B {
			l.B[i] = float32(rng.NormFloat64() * 0.05)
		}
	}
	return a
}

func TestLlamaCppTokenizesLikeUs(t *testing.T) {
	s := newSetup(t)
	texts := append([]string{heldOut(t, 2000), "<|user|>hi<|assistant|> ok\n\n\t  x  ", "Ünïcödé — “quotes” 日本語 1234567"}, prompts...)
	r := run(t, []job{{Model: s.exportModel(t, s.base, export.OutQ8_0), Tokenize: texts}})[0]
	for i, text := range texts {
		want := s.tok.Encode(text, false)
		if !equal(r.Tokenize[i], want) {
			t.Errorf("text %d (%.40q…): llama.cpp %d ids, ours %d; first difference at %d", i, text, len(r.Tokenize[i]), len(want), firstDiff(r.Tokenize[i], want))
		}
	}
}

func TestLlamaCppPerplexityOf16And8BitFiles(t *testing.T) {
	s := newSetup(t)
	ids := s.tok.Encode(heldOut(t, 4000), true)
	ids = ids[:min(len(ids), 384)]
	out, err := s.m.Forward(ids, 1, len(ids), false)
	if err != nil {
		t.Fatal(err)
	}
	V := s.m.Config.VocabSize
	nll := 0.0
	for i := 0; i+1 < len(ids); i++ {
		nll += logSumExp(out.Logits[i*V:(i+1)*V]) - float64(out.Logits[i*V+ids[i+1]])
	}
	ourPPL := math.Exp(nll / float64(len(ids)-1))
	types := []export.GGUFOutType{export.OutF16, export.OutQ8_0}
	var jobs []job
	for _, ty := range types {
		j := job{Model: s.exportModel(t, s.base, ty)}
		j.Perplexity = &struct {
			IDs []int `json:"ids"`
		}{ids}
		jobs = append(jobs, j)
	}
	for i, r := range run(t, jobs) {
		ty := types[i]
		ppl := math.Exp(r.Perplexity.NLL / float64(r.Perplexity.N))
		rel := math.Abs(ppl-ourPPL) / ourPPL
		t.Logf("%s: llama.cpp perplexity %.4f on %d held-out tokens, ours at f32 %.4f (relative difference %.2g, margin %g)", ty, ppl, r.Perplexity.N, ourPPL, rel, pplMargin[ty])
		if r.Perplexity.N != len(ids)-1 || !(rel <= pplMargin[ty]) {
			t.Errorf("%s: perplexity %.4f over %d tokens vs ours %.4f over %d: relative difference %.3g > %g", ty, ppl, r.Perplexity.N, ourPPL, len(ids)-1, rel, pplMargin[ty])
		}
	}
}

// heldOut returns about n bytes of held-out text (never in base-19m's training data).
func heldOut(t *testing.T, n int) string {
	f, err := os.Open(shared.Path(t, "corpus", "val_lit.txt.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	k, _ := bufio.NewReader(zr).Read(buf)
	for k < n {
		m, err := zr.Read(buf[k:])
		if m == 0 || err != nil {
			break
		}
		k += m
	}
	return strings.ToValidUTF8(string(buf[:k]), "")
}

func logSumExp(x []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

func readF32(t *testing.T, path string) []float32 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
