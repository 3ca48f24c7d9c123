package model

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
)

// testDeltas is an adapter held as data: a Delta per layer.
type testDeltas struct{ by map[*Linear]Delta }

func (d *testDeltas) DeltaFor(l *Linear) Delta {
	if x, ok := d.by[l]; ok {
		return x
	}
	return nil
}

// detachedLoRA draws a LoRA update for every linear layer of m without attaching it.
func detachedLoRA(m *Model, r *rand.Rand, rank int) *testDeltas {
	d := &testDeltas{by: map[*Linear]Delta{}}
	for _, l := range m.Linears() {
		A, B := make([]float32, rank*l.In), make([]float32, l.Out*rank)
		for i := range A {
			A[i] = float32(0.3 * r.NormFloat64())
		}
		for i := range B {
			B[i] = float32(0.3 * r.NormFloat64())
		}
		d.by[l] = newLoRA(l.In, l.Out, rank, 0.5, A, B)
	}
	return d
}

// attachDeltas sets d's updates as the model's own (nil: none), for the ForwardCached reference.
func attachDeltas(m *Model, d *testDeltas) {
	for _, l := range m.Linears() {
		l.Delta = nil
		if d != nil {
			l.Delta = d.by[l]
		}
	}
}

// batchSeq is one sequence of the batching tests: its adapter, prompt and the step it joins at.
type batchSeq struct {
	deltas *testDeltas
	prompt []int
	join   int
}

// checkBatchedMatchesAlone runs seqs through one Batcher, sequences joining at their step and
// decoding `decode` greedy tokens each, then replays every sequence alone through ForwardCached
// with its adapter attached and requires every step's logits to have the same bits.
func checkBatchedMatchesAlone(t *testing.T, m *Model, seqs []batchSeq, decode int) {
	t.Helper()
	V := m.Config.VocabSize
	type state struct {
		kc     *KVCache
		fed    [][]int     // tokens fed at each of its steps
		logits [][]float32 // logits returned at each of its steps
	}
	st := make([]state, len(seqs))
	for i, s := range seqs {
		st[i].kc = m.NewKVCache(len(s.prompt) + decode)
	}
	bt := m.NewBatcher()
	maxRows := 0
	for step := 0; ; step++ {
		var steps []Step
		var who []int
		for i, s := range seqs {
			k := step - s.join
			if k < 0 || k > decode-1 {
				continue
			}
			ids := s.prompt
			if k > 0 {
				prev := st[i].logits[k-1]
				ids = []int{greedy(prev)}
			}
			var ds Deltas
			if s.deltas != nil {
				ds = s.deltas
			}
			steps = append(steps, Step{IDs: ids, Cache: st[i].kc, Deltas: ds})
			who = append(who, i)
			st[i].fed = append(st[i].fed, ids)
		}
		if len(steps) == 0 {
			if step > 100 {
				break
			}
			continue
		}
		maxRows = max(maxRows, len(steps))
		out, err := bt.Step(steps)
		if err != nil {
			t.Fatal(err)
		}
		for j, i := range who {
			st[i].logits = append(st[i].logits, append([]float32(nil), out[j*V:(j+1)*V]...))
		}
	}
	if maxRows < 3 {
		t.Fatalf("the schedule never batched 3 sequences (max %d): the test would not test batching", maxRows)
	}
	for i, s := range seqs {
		attachDeltas(m, s.deltas)
		kc := m.NewKVCache(len(s.prompt) + decode)
		for k, ids := range st[i].fed {
			got, err := m.ForwardCached(ids, kc)
			if err != nil {
				t.Fatal(err)
			}
			want := got[(len(ids)-1)*V:]
			if !numtest.SameBits(st[i].logits[k], want) {
				d := numtest.MaxAbsDiff(st[i].logits[k], want)
				t.Fatalf("sequence %d step %d (%d tokens): batched logits differ from the sequence alone by %.3g", i, k, len(ids), d)
			}
		}
	}
	attachDeltas(m, nil)
}

func greedy(l []float32) int {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return best
}

// TestBatchedStepsMatchEachSequenceAlone: sequences with two different adapters and none, prompts
// of 1 to 9 tokens joining at different steps (so prefills and decode rows share steps, and more
// than gemm.RowwiseM rows share an adapter), give the bits ForwardCached gives each alone — under
// float32 compute and, for the tiny models, under bf16 compute (tiny-*-bf16).
func TestBatchedStepsMatchEachSequenceAlone(t *testing.T) {
	for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3", "llama-bf16", "mistral-bf16", "qwen2-bf16", "gpt2-bf16", "qwen3-bf16", "gemma3-bf16"} {
		t.Run("tiny-"+fam, func(t *testing.T) {
			fam, bf16 := strings.CutSuffix(fam, "-bf16")
			m := tinyModel(t, fam)
			if bf16 {
				m.SetCompute(ComputeBF16)
			}
			r := rand.New(rand.NewSource(5))
			da, db := detachedLoRA(m, r, 2), detachedLoRA(m, r, 3)
			prompt := func(n int) []int {
				ids := make([]int, n)
				for i := range ids {
					ids[i] = r.Intn(m.Config.VocabSize)
				}
				return ids
			}
			var seqs []batchSeq
			adapters := []*testDeltas{da, db, nil, da, da, da, da, db}
			for i, d := range adapters {
				seqs = append(seqs, batchSeq{deltas: d, prompt: prompt(1 + (i*4)%9), join: i % 3})
			}
			if fam == "gpt2" { // n_positions 8: prompt + 4 decoded tokens must fit
				for i := range seqs {
					seqs[i].prompt = seqs[i].prompt[:min(len(seqs[i].prompt), 4)]
				}
			}
			checkBatchedMatchesAlone(t, m, seqs, 4)
		})
	}
	// The Qwen3 and Gemma 3 fixtures as loaded (q/k norms; Gemma's post norms, (1 + w) norms,
	// scaled embeddings, gated GELU and two rotary settings): gemma3's sliding_window is 8, and
	// prompts of up to 19 tokens plus 12 decoded run well past it.
	for _, fam := range []string{"qwen3", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			m, err := Load(filepath.Join(shared.Path(t, "fixtures", "hf", fam), "model"))
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewSource(7))
			da, db := detachedLoRA(m, r, 4), detachedLoRA(m, r, 2)
			var seqs []batchSeq
			for i, d := range []*testDeltas{da, nil, db, da, da, da, da, db} {
				ids := make([]int, 1+(i*6)%19)
				for j := range ids {
					ids[j] = (j*37 + i*11 + 5) % m.Config.VocabSize
				}
				seqs = append(seqs, batchSeq{deltas: d, prompt: ids, join: i % 3})
			}
			checkBatchedMatchesAlone(t, m, seqs, 12)
		})
	}
	t.Run("base-19m", func(t *testing.T) {
		dir := shared.Path(t, "models", "base-19m")
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewSource(6))
		da, db := detachedLoRA(m, r, 4), detachedLoRA(m, r, 8)
		for _, d := range []*testDeltas{da, db} { // small updates, as trained adapters have
			for _, x := range d.by {
				for i := range x.(*loraDelta).B {
					x.(*loraDelta).B[i] *= 0.01
				}
			}
		}
		var seqs []batchSeq
		for i, d := range []*testDeltas{da, nil, db, da, da, da, da, db, nil} {
			ids := make([]int, 2+i*5)
			for j := range ids {
				ids[j] = (j*131 + i*17 + 1) % m.Config.VocabSize
			}
			seqs = append(seqs, batchSeq{deltas: d, prompt: ids, join: i % 2})
		}
		checkBatchedMatchesAlone(t, m, seqs, 5)
	})
}

// TestBatchStepRejectsBadInputWithoutTouchingCaches: a bad step anywhere leaves every cache as it was.
func TestBatchStepRejectsBadInputWithoutTouchingCaches(t *testing.T) {
	m := tinyModel(t, "llama")
	good, full := m.NewKVCache(8), m.NewKVCache(2)
	bt := m.NewBatcher()
	for i, steps := range [][]Step{
		{{IDs: []int{1, 2}, Cache: good}, {IDs: []int{m.Config.VocabSize}, Cache: m.NewKVCache(4)}},
		{{IDs: []int{1}, Cache: good}, {IDs: []int{1, 2, 3}, Cache: full}},
		{{IDs: []int{1}, Cache: good}, {IDs: nil, Cache: m.NewKVCache(4)}},
		{{IDs: []int{1}, Cache: good}, {IDs: []int{2}, Cache: good}},
	} {
		if _, err := bt.Step(steps); err == nil {
			t.Errorf("case %d: accepted", i)
		} else {
			t.Logf("case %d: %v", i, err)
		}
		if good.Len != 0 || full.Len != 0 {
			t.Fatalf("case %d: a cache changed (%d, %d tokens)", i, good.Len, full.Len)
		}
	}
}
