package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
)

func TestInferenceVariantsAreTheBaseThenEachMethodUnmergedAndMergedWhereItCan(t *testing.T) {
	var got []string
	for _, v := range InferenceVariants() {
		got = append(got, v.Name())
	}
	want := []string{"base", "lora", "lora merged", "moslora", "moslora merged", "global", "global merged", "gated", "gated-topk"}
	if !slices.Equal(got, want) {
		t.Errorf("variants %q, want %q", got, want)
	}
}

// tinyInferenceModel is a random 2-layer Llama small enough for the guard tests.
func tinyInferenceModel(t *testing.T) *model.Model {
	t.Helper()
	c, err := model.ParseConfig([]byte(`{"architectures":["LlamaForCausalLM"],"vocab_size":64,"hidden_size":32,
		"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
		"max_position_embeddings":64,"rms_norm_eps":1e-5,"rope_theta":10000.0,"tie_word_embeddings":true}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewRandom(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func variantsOn(t *testing.T, m *model.Model) []measured {
	t.Helper()
	var ms []measured
	as := map[string]*adapter.Adapter{}
	for _, v := range InferenceVariants() {
		s := measured{v: v}
		if v.Method != "" {
			if as[v.Method] == nil {
				a, err := InferenceAdapter(m, v.Method)
				if err != nil {
					t.Fatal(err)
				}
				as[v.Method] = a
			}
			s.a = as[v.Method]
		}
		ms = append(ms, s)
	}
	return ms
}

// The guard passes on the real variants: each unmerged adapter moves the logits, each merged one
// reproduces its unmerged logits, and the base comes back.
func TestInferenceGuardPassesWhenMergedEqualsUnmerged(t *testing.T) {
	m := tinyInferenceModel(t)
	ms := variantsOn(t, m)
	diffs, err := checkVariants(m, ms)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ms {
		t.Logf("%s: %.3g", s.v.Name(), diffs[i])
		if s.a != nil && !s.v.Merged && !(diffs[i] > 0.01) {
			t.Errorf("%s changes the logits by only %.3g", s.v.Name(), diffs[i])
		}
		if s.v.Merged && diffs[i] > 1e-4 {
			t.Errorf("%s differs from unmerged by %.3g", s.v.Name(), diffs[i])
		}
	}
	for _, l := range m.Linears() {
		if l.Delta != nil {
			t.Fatalf("%s still has an adapter attached after the guard", l.Path)
		}
	}
}

// The guard fails when a merged variant is not the unmerged adapter's ΔW, or when an adapter adds
// nothing (not in the forward path).
func TestInferenceGuardCatchesAWrongMergeAndAnAdapterOutOfThePath(t *testing.T) {
	m := tinyInferenceModel(t)
	lora, err := InferenceAdapter(m, "lora")
	if err != nil {
		t.Fatal(err)
	}
	other, err := InferenceAdapter(m, "lora")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range other.Params() {
		if p.Group == adapter.GroupB {
			for i := range p.W {
				p.W[i] *= -1
			}
		}
	}
	ms := []measured{{v: Variant{}}, {v: Variant{Method: "lora"}, a: lora}, {v: Variant{Method: "lora", Merged: true}, a: other}}
	if _, err := checkVariants(m, ms); err == nil || !strings.Contains(err.Error(), "lora merged differs from the unmerged adapter") {
		t.Errorf("a merge of another ΔW: %v", err)
	}
	for _, p := range lora.Params() {
		if p.Group == adapter.GroupB {
			clear(p.W)
		}
	}
	if _, err := checkVariants(m, ms[:2]); err == nil || !strings.Contains(err.Error(), "not in the forward path") {
		t.Errorf("an adapter with B = 0: %v", err)
	}
}

// Ratios pair each round's times. Prompt: base (1, 4, 4) s, variant (3, 3, 5) s: round ratios
// (3, 0.75, 1.25), median 1.25 (the ratio of the medians would be 3/4). Decode: base (1, 2, 4),
// variant (2, 3, 4): ratios (2, 1.5, 1), median 1.5. Tokens/s come from the median times (a decode
// time is one step's).
func TestInferenceRatiosAreMediansOfPairedRounds(t *testing.T) {
	o := InferenceOptions{Threads: 1, Prompts: 2, Prompt: 10, Decode: 5, Rounds: 3}
	ms := []measured{{v: Variant{}}, {v: Variant{Method: "lora"}}}
	p, d := [][]float64{{1, 4, 4}, {3, 3, 5}}, [][]float64{{1, 2, 4}, {2, 3, 4}}
	// CPU times: the same numbers swapped (prompt CPU = decode wall and the other way round).
	rows := inferenceRows("m", o, ms, []float64{0, 0.5}, timings{prompt: p, promptCPU: d, decode: d, decodeCPU: p})
	if rows[0].PromptRatio != 1 || rows[0].DecodeRatio != 1 || rows[0].PromptCPURatio != 1 || rows[0].DecodeCPURatio != 1 {
		t.Errorf("base ratios %+v; want 1", rows[0])
	}
	r := rows[1]
	if r.PromptRatio != 1.25 || r.DecodeRatio != 1.5 || r.PromptTokS != 20.0/3 || r.DecodeTokS != 1.0/3 || r.MaxAbsDiff != 0.5 || r.Variant != "lora" {
		t.Errorf("row %+v; want prompt ratio 1.25, decode ratio 1.5, 20/3 and 1/3 tok/s", r)
	}
	if r.PromptCPURatio != 1.5 || r.DecodeCPURatio != 1.25 || r.PromptTokCPUS != 20.0/3 || r.DecodeTokCPUS != 1.0/3 {
		t.Errorf("row %+v; want CPU ratios 1.5 (prompt) and 1.25 (decode), 20/3 and 1/3 tok per CPU-s", r)
	}
}

func TestInferenceOptionsNameTheBadFlag(t *testing.T) {
	o := InferenceOptions{Models: InferenceModels("base-19m, 7b"), Threads: 1, Prompts: 1, Prompt: 1, Decode: 1, Rounds: 1}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `--only "7b"`) {
		t.Errorf("--only 7b: %v", err)
	}
	o.Models, o.Rounds = InferenceModels(""), 0
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--rounds") {
		t.Errorf("--rounds 0: %v", err)
	}
	if got := InferenceModels(""); !slices.Equal(got, []string{ModelBase19M, Model135M}) {
		t.Errorf("default models %q", got)
	}
}

// A tiny end-to-end run on base-19m (one round, a few tokens): one JSON row per variant, the
// base's ratios 1, every rate finite and positive. Times are printed, never asserted.
func TestRunInferenceWritesARowPerVariant(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	var out bytes.Buffer
	o := InferenceOptions{ModelDir: dir, Models: []string{ModelBase19M}, Threads: 1, Prompts: 1, Prompt: 8, Decode: 2, Rounds: 1, JSON: true}
	if err := RunInference(context.Background(), o, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rows []InferenceRow
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r InferenceRow
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	vs := InferenceVariants()
	if len(rows) != len(vs) {
		t.Fatalf("%d rows, want %d", len(rows), len(vs))
	}
	for i, r := range rows {
		ok := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
		if r.Variant != vs[i].Name() || r.Model != ModelBase19M || !ok(r.PromptTokS) || !ok(r.DecodeTokS) || !ok(r.PromptRatio) || !ok(r.DecodeRatio) || !ok(r.PromptCPURatio) || !ok(r.DecodeCPURatio) {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	if rows[0].PromptRatio != 1 || rows[0].DecodeRatio != 1 {
		t.Errorf("base row ratios %v, %v; want 1", rows[0].PromptRatio, rows[0].DecodeRatio)
	}
}
