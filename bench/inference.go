package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/model"
)

// This file is bench --inference: the inference cost of each adapter method relative to the base
// model, unmerged and merged — prompt tokens/s (a batch of prompts through the forward pass, as
// eval runs it) and decode tokens/s (KV-cached greedy decoding, as generate runs it).
//
// Every variant runs on the same model in the same process: the adapters are built once (r 16,
// alpha 32 on q, k, v, o, gate, up, down; random A as initialised, and B and the mixer tensors drawn
// N(0, InferenceInitStd²), so B ≠ 0 — the cost does not depend on trained values) and attached,
// merged, unmerged and detached in turn. The base is held in float32 for every variant: a merge
// widens a bf16 weight to float32, so a bf16 base would compare bf16 against float32 weights.
// Rounds alternate the variants (the first variant of a round rotates). In a round, a variant's
// prompt time is the fastest of PromptRepeats forward passes of the batch, and its decode time per
// token the median of its decoding steps — both resist the bursts of other processes on a loaded
// machine; the garbage collector runs before each timed part, so no variant pays for another's
// merge. Reported tokens/s come from the median over the rounds, and a ratio is the median over
// the rounds of the variant's time over the base's in the same round. Each time is measured twice:
// wall clock, and the process's CPU seconds (getrusage, all threads).

// PromptRepeats is how many forward passes of the prompt batch each variant runs per round (the
// fastest counts).
const PromptRepeats = 3

// InferenceInitStd is the standard deviation of B and of the mixer tensors of the measured adapters.
const InferenceInitStd = 0.02

// InferenceSubspaces and InferenceTopK shape the global, gated and gated-topk variants.
const (
	InferenceSubspaces = 4
	InferenceTopK      = 2
)

// Variant is one row of the inference table: the base model (Method ""), or an adapter of a
// training method, unmerged or merged into the base weights.
type Variant struct {
	Method string // "" for the base model; else a training method (mixer.ByMethod)
	Merged bool
}

// Name is the variant's label: "base", "lora", "lora merged", …
func (v Variant) Name() string {
	n := v.Method
	if n == "" {
		n = "base"
	}
	if v.Merged {
		n += " merged"
	}
	return n
}

// InferenceVariants lists the measured variants in order: the base, then for each of lora,
// moslora, global, gated and gated-topk the adapter unmerged and, where its mixer has a fixed
// matrix (not the input-dependent gates), merged.
func InferenceVariants() []Variant {
	vs := []Variant{{}}
	for _, m := range []string{"lora", "moslora", "global", "gated", "gated-topk"} {
		vs = append(vs, Variant{Method: m})
		if mergeable(m) {
			vs = append(vs, Variant{Method: m, Merged: true})
		}
	}
	return vs
}

// mergeable reports whether an adapter of the method can merge (its mixer has a fixed matrix).
func mergeable(method string) bool {
	kind, ok := mixer.ByMethod(method)
	if !ok {
		return false
	}
	mx, err := mixer.New(kind.Name, mixer.Shape{R: Rank, In: 1, K: InferenceSubspaces, TopK: InferenceTopK})
	if err != nil {
		return false
	}
	_, ok = mx.Matrix()
	return ok
}

// InferenceOptions configure bench --inference.
type InferenceOptions struct {
	ModelDir string   // the base-19m folder
	Models   []string // ModelBase19M and/or Model135M
	Threads  int      // GOMAXPROCS for every variant
	Prompts  int      // prompts per forward pass (prompt tokens/s)
	Prompt   int      // tokens per prompt (both measures)
	Decode   int      // greedy tokens decoded after the prompt
	Rounds   int
	JSON     bool
}

// Validate checks the options a user sets.
func (o *InferenceOptions) Validate() error {
	if o.Threads < 1 || o.Prompts < 1 || o.Prompt < 1 || o.Decode < 1 || o.Rounds < 1 {
		return fmt.Errorf("bench: --inference needs --threads, --prompt-tokens, --decode-tokens and --rounds ≥ 1")
	}
	if len(o.Models) == 0 {
		return fmt.Errorf("bench: --inference: no model to measure (--only %s, %s or both)", ModelBase19M, Model135M)
	}
	for _, m := range o.Models {
		if m != ModelBase19M && m != Model135M {
			return fmt.Errorf("bench: --inference --only %q: want %s, %s or both (comma-separated)", m, ModelBase19M, Model135M)
		}
	}
	return nil
}

// InferenceModels parses --only for --inference: "" is both models.
func InferenceModels(only string) []string {
	if strings.TrimSpace(only) == "" {
		return []string{ModelBase19M, Model135M}
	}
	var ms []string
	for _, m := range strings.Split(only, ",") {
		if m = strings.TrimSpace(m); m != "" {
			ms = append(ms, m)
		}
	}
	return ms
}

// InferenceRow is one line of the table. The ratios are times relative to the base (> 1: slower).
type InferenceRow struct {
	Model          string  `json:"model"`
	Variant        string  `json:"variant"`
	Merged         bool    `json:"merged"`
	Threads        int     `json:"threads"`
	Rounds         int     `json:"rounds"`
	PromptTokens   int     `json:"prompt_tokens"` // per forward pass: prompts × tokens
	PromptTokS     float64 `json:"prompt_tok_s"`
	PromptRatio    float64 `json:"prompt_time_vs_base"`
	PromptTokCPUS  float64 `json:"prompt_tok_per_cpu_s"`
	PromptCPURatio float64 `json:"prompt_cpu_vs_base"`
	DecodeTokS     float64 `json:"decode_tok_s"`
	DecodeRatio    float64 `json:"decode_time_vs_base"`
	DecodeTokCPUS  float64 `json:"decode_tok_per_cpu_s"`
	DecodeCPURatio float64 `json:"decode_cpu_vs_base"`
	// MaxAbsDiff is the correctness guard's largest |logit| difference: merged against unmerged for
	// a merged variant, the adapter against the base otherwise (it must change the logits).
	MaxAbsDiff float64 `json:"max_abs_logit_diff"`
}

// RunInference measures every variant of InferenceVariants on each of o.Models and writes the
// table (or JSON lines) to out; progress goes to log.
func RunInference(ctx context.Context, o InferenceOptions, out, log io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.Threads))
	if !o.JSON {
		fmt.Fprintf(out, "| model | variant | prompt tok/s (%d × %d tokens) | prompt wall × base | prompt CPU × base | decode tok/s (median step of %d after %d) | decode wall × base | decode CPU × base |\n|---|---|---|---|---|---|---|---|\n",
			o.Prompts, o.Prompt, o.Decode, o.Prompt)
	}
	for _, name := range o.Models {
		fmt.Fprintf(log, "bench: %s: loading (float32 weights)\n", name)
		m, err := inferenceModel(name, o.ModelDir)
		if err != nil {
			return err
		}
		if mp := m.Config.MaxPositionEmbeddings; mp > 0 && o.Prompt+o.Decode+1 > mp { // 0: not set (the random 135m)
			return fmt.Errorf("bench: %s: %d prompt + %d decoded tokens exceed the model's %d positions", name, o.Prompt, o.Decode, m.Config.MaxPositionEmbeddings)
		}
		rows, err := measureInference(ctx, m, name, o, log)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if o.JSON {
				b, _ := json.Marshal(r)
				fmt.Fprintf(out, "%s\n", b)
				continue
			}
			fmt.Fprintf(out, "| %s | %s | %.0f | %.3f | %.3f | %.1f | %.3f | %.3f |\n", r.Model, r.Variant, r.PromptTokS, r.PromptRatio, r.PromptCPURatio, r.DecodeTokS, r.DecodeRatio, r.DecodeCPURatio)
		}
	}
	return nil
}

// inferenceModel loads a model of the inference bench in float32.
func inferenceModel(name, modelDir string) (*model.Model, error) {
	if name == Model135M {
		return model.NewRandom(Parse135M(), 1)
	}
	return loadModel(Case{Name: name, Model: name}, modelDir, model.BaseF32, io.Discard)
}

// measured is an adapter variant ready to be switched on and off.
type measured struct {
	v Variant
	a *adapter.Adapter // nil for the base
}

// on attaches or merges the variant's adapter; off restores the base.
func (s measured) on() error {
	switch {
	case s.a == nil:
		return nil
	case s.v.Merged:
		return s.a.Merge()
	}
	return s.a.Attach()
}

func (s measured) off() error {
	switch {
	case s.a == nil:
		return nil
	case s.v.Merged:
		if err := s.a.Unmerge(); err != nil {
			return err
		}
	}
	s.a.Detach()
	return nil
}

// InferenceAdapter builds the detached adapter of a method that bench --inference measures: r 16,
// alpha 32 on the seven projections, A as initialised (seed 1), B and the mixer tensors drawn
// N(0, InferenceInitStd²).
func InferenceAdapter(m *model.Model, method string) (*adapter.Adapter, error) {
	kind, ok := mixer.ByMethod(method)
	if !ok {
		return nil, fmt.Errorf("bench: no adapter method %q", method)
	}
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.LoraAlpha = Rank, Alpha
	cfg.TargetModules = adapter.Targets{List: Targets}
	cfg.Mixer, cfg.Subspaces, cfg.TopK = kind.Name, InferenceSubspaces, InferenceTopK
	if kind.Official {
		cfg.LoraUseMixer = true
	}
	a, err := adapter.New(cfg, m, 1)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for _, p := range a.Params() {
		if p.Group == adapter.GroupA {
			continue
		}
		for i := range p.W {
			p.W[i] = float32(rng.NormFloat64() * InferenceInitStd)
		}
	}
	a.Detach()
	return a, nil
}

// guardIDs is the short batch the correctness guard runs: 2 prompts of 16 tokens.
func guardIDs(vocab int) []int {
	ids := make([]int, 2*16)
	for i := range ids {
		ids[i] = (7919*i + 29) % vocab
	}
	return ids
}

// InferenceGuardTol bounds the merged-against-unmerged logit difference (relative to the largest
// |logit|, at least 1): float32 rounding of W + ΔW through the whole model.
const InferenceGuardTol = 1e-3

// checkVariants is the correctness guard run before any timing: every unmerged adapter changes the
// logits (it is in the forward path), every merged one gives the unmerged logits within
// InferenceGuardTol, and the base's logits come back after each variant is switched off. It
// returns, per variant, the largest difference it checked.
func checkVariants(m *model.Model, ms []measured) ([]float64, error) {
	ids := guardIDs(m.Config.VocabSize)
	logits := func() ([]float32, error) {
		out, err := m.Forward(ids, 2, 16, false)
		if err != nil {
			return nil, err
		}
		return append([]float32(nil), out.Logits...), nil
	}
	base, err := logits()
	if err != nil {
		return nil, err
	}
	scale := 1.0
	for _, v := range base {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	diffs := make([]float64, len(ms))
	unmerged := map[string][]float32{}
	for i, s := range ms {
		if err := s.on(); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", s.v.Name(), err)
		}
		got, err := logits()
		if err != nil {
			return nil, err
		}
		if err := s.off(); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", s.v.Name(), err)
		}
		switch {
		case s.a == nil:
		case !s.v.Merged:
			unmerged[s.v.Method] = got
			diffs[i] = maxAbsDiff(got, base)
			if diffs[i] <= InferenceGuardTol*scale {
				return nil, fmt.Errorf("bench: guard: the %s adapter changes the logits by only %.3g: it is not in the forward path", s.v.Name(), diffs[i])
			}
		default:
			want, ok := unmerged[s.v.Method]
			if !ok {
				return nil, fmt.Errorf("bench: guard: %s comes before its unmerged variant", s.v.Name())
			}
			diffs[i] = maxAbsDiff(got, want)
			if diffs[i] > InferenceGuardTol*scale {
				return nil, fmt.Errorf("bench: guard: %s differs from the unmerged adapter by %.3g (tolerance %.3g)", s.v.Name(), diffs[i], InferenceGuardTol*scale)
			}
		}
		again, err := logits()
		if err != nil {
			return nil, err
		}
		if d := maxAbsDiff(again, base); d > InferenceGuardTol*scale {
			return nil, fmt.Errorf("bench: guard: switching %s off left the base logits changed by %.3g", s.v.Name(), d)
		}
	}
	return diffs, nil
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// measureInference builds the variants on m, checks them, and times them in alternating rounds.
func measureInference(ctx context.Context, m *model.Model, name string, o InferenceOptions, log io.Writer) ([]InferenceRow, error) {
	var ms []measured
	adapters := map[string]*adapter.Adapter{}
	for _, v := range InferenceVariants() {
		s := measured{v: v}
		if v.Method != "" {
			if adapters[v.Method] == nil {
				a, err := InferenceAdapter(m, v.Method)
				if err != nil {
					return nil, err
				}
				adapters[v.Method] = a
			}
			s.a = adapters[v.Method]
		}
		ms = append(ms, s)
	}
	fmt.Fprintf(log, "bench: %s: checking that every adapter is in the path and merged equals unmerged\n", name)
	diffs, err := checkVariants(m, ms)
	if err != nil {
		return nil, err
	}
	for i, s := range ms[1:] {
		what := "against the base (must be large)"
		if s.v.Merged {
			what = "against unmerged (must be small)"
		}
		fmt.Fprintf(log, "bench: %s: guard: %s max |Δlogit| %.3g %s\n", name, s.v.Name(), diffs[i+1], what)
	}
	ids := make([]int, o.Prompts*o.Prompt)
	for i := range ids {
		ids[i] = (7919*i + 13) % m.Config.VocabSize
	}
	prompt := ids[:o.Prompt]
	var t timings
	t.init(len(ms))
	for r := range o.Rounds {
		fmt.Fprintf(log, "bench: %s: round %d/%d (%d variants, %d threads)\n", name, r+1, o.Rounds, len(ms), o.Threads)
		for j := range ms {
			i := (j + r) % len(ms) // rotate which variant goes first
			s := ms[i]
			if err := s.on(); err != nil {
				return nil, fmt.Errorf("bench: %s: %w", s.v.Name(), err)
			}
			wall, cpu := math.Inf(1), math.Inf(1)
			for range PromptRepeats {
				runtime.GC()
				t0, c0 := time.Now(), cpuSeconds()
				if _, err := m.Forward(ids, o.Prompts, o.Prompt, false); err != nil {
					return nil, err
				}
				wall, cpu = math.Min(wall, time.Since(t0).Seconds()), math.Min(cpu, cpuSeconds()-c0)
			}
			t.prompt[i] = append(t.prompt[i], wall)
			t.promptCPU[i] = append(t.promptCPU[i], cpu)
			wall, cpu, err := timeDecode(m, prompt, o.Decode)
			if err != nil {
				return nil, err
			}
			t.decode[i] = append(t.decode[i], wall)
			t.decodeCPU[i] = append(t.decodeCPU[i], cpu)
			if err := s.off(); err != nil {
				return nil, fmt.Errorf("bench: %s: %w", s.v.Name(), err)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	return inferenceRows(name, o, ms, diffs, t), nil
}

// timings are the seconds of each variant in each round, [variant][round]: the prompt batch's
// forward pass, one decoding step.
type timings struct {
	prompt, promptCPU, decode, decodeCPU [][]float64
}

func (t *timings) init(n int) {
	t.prompt, t.promptCPU = make([][]float64, n), make([][]float64, n)
	t.decode, t.decodeCPU = make([][]float64, n), make([][]float64, n)
}

// timeDecode runs the prompt through a fresh KV cache (untimed) and then decodes n greedy tokens
// one at a time, as generate does; it returns the median wall and CPU seconds of one decoding step.
func timeDecode(m *model.Model, prompt []int, n int) (wall, cpu float64, err error) {
	V := m.Config.VocabSize
	kc := m.NewKVCache(len(prompt) + n + 1)
	logits, err := m.ForwardCached(prompt, kc)
	if err != nil {
		return 0, 0, err
	}
	next := argmax(logits[len(logits)-V:])
	walls, cpus := make([]float64, n), make([]float64, n)
	runtime.GC()
	for i := range n {
		t0, c0 := time.Now(), cpuSeconds()
		if logits, err = m.ForwardCached([]int{next}, kc); err != nil {
			return 0, 0, err
		}
		next = argmax(logits[len(logits)-V:])
		walls[i], cpus[i] = time.Since(t0).Seconds(), cpuSeconds()-c0
	}
	return median(walls), median(cpus), nil
}

// inferenceRows turns the per-round seconds into rows: tokens/s from the median time, ratios as
// the median over rounds of the time over the base's (variant 0) in the same round.
func inferenceRows(name string, o InferenceOptions, ms []measured, diffs []float64, t timings) []InferenceRow {
	ratio := func(v, base []float64) float64 {
		rs := make([]float64, len(v))
		for r := range v {
			if base[r] <= 0 { // no CPU clock on this system
				return 0
			}
			rs[r] = v[r] / base[r]
		}
		return median(rs)
	}
	pt := float64(o.Prompts * o.Prompt)
	var rows []InferenceRow
	for i, s := range ms {
		rows = append(rows, InferenceRow{Model: name, Variant: s.v.Name(), Merged: s.v.Merged, Threads: o.Threads, Rounds: o.Rounds,
			PromptTokens: o.Prompts * o.Prompt,
			PromptTokS:   pt / median(t.prompt[i]), PromptRatio: ratio(t.prompt[i], t.prompt[0]),
			PromptTokCPUS: pt / median(t.promptCPU[i]), PromptCPURatio: ratio(t.promptCPU[i], t.promptCPU[0]),
			DecodeTokS: 1 / median(t.decode[i]), DecodeRatio: ratio(t.decode[i], t.decode[0]),
			DecodeTokCPUS: 1 / median(t.decodeCPU[i]), DecodeCPURatio: ratio(t.decodeCPU[i], t.decodeCPU[0]),
			MaxAbsDiff: diffs[i]})
	}
	return rows
}
