package model

import (
	"math"
	"math/rand"
	"testing"
)

// gradsOf runs one ForwardBackward of a fresh tiny model (LoRA on every linear layer, and full
// fine-tuning gradients when full) and returns the loss and every gradient by name.
func gradsOf(t *testing.T, fam string, recompute, full bool, B, T int) (float64, map[string][]float32) {
	t.Helper()
	m := tinyModel(t, fam)
	m.SetRecompute(recompute)
	ds := attachLoRA(m, rand.New(rand.NewSource(4)), 3)
	if full {
		m.EnableFullGrads()
	}
	ids, labels := tinyBatch(rand.New(rand.NewSource(8)), m.Config.VocabSize, B, T)
	var loss float64
	for range 2 { // a second step reuses the buffers (and accumulates)
		l, err := m.ForwardBackward(ids, labels, B, T)
		if err != nil {
			t.Fatal(err)
		}
		loss = l
	}
	g := map[string][]float32{}
	for path, d := range ds {
		g[path+".A"], g[path+".B"] = d.dA, d.dB
	}
	for _, p := range m.Params() {
		if p.DW != nil {
			g[p.Name] = p.DW
		}
	}
	return loss, g
}

func TestRecomputeGivesBitIdenticalGradients(t *testing.T) {
	smallAttnBlocks(t)
	for _, fam := range []string{"llama", "mistral", "qwen2", "gpt2", "qwen3", "gemma3"} {
		for _, full := range []bool{false, true} {
			loss0, g0 := gradsOf(t, fam, false, full, 2, 7)
			loss1, g1 := gradsOf(t, fam, true, full, 2, 7)
			if loss0 != loss1 {
				t.Fatalf("%s full=%v: loss %v with recomputation, %v stored", fam, full, loss1, loss0)
			}
			if len(g0) == 0 || len(g0) != len(g1) {
				t.Fatalf("%s full=%v: %d gradients stored, %d recomputed", fam, full, len(g0), len(g1))
			}
			for k, a := range g0 {
				b := g1[k]
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("%s full=%v: %s[%d] = %v recomputed, %v stored", fam, full, k, i, b[i], a[i])
					}
				}
			}
		}
	}
}

func TestRecomputeKeepsOneBlocksActivations(t *testing.T) {
	m := tinyModel(t, "llama")
	m.SetRecompute(true)
	ids, labels := tinyBatch(rand.New(rand.NewSource(8)), m.Config.VocabSize, 2, 7)
	if _, err := m.ForwardBackward(ids, labels, 2, 7); err != nil {
		t.Fatal(err)
	}
	if m.acts.layers[0].ln1 == nil {
		t.Fatal("block 0's buffers are not in use")
	}
	for l := 1; l < len(m.acts.layers); l++ {
		if m.acts.layers[l].ln1 != nil || m.acts.layers[l].a != nil {
			t.Fatalf("block %d kept its own activations under recomputation", l)
		}
	}
}

// TestReplayRebuildsWhatBackwardReadsWithoutTheOAndDownProducts: a block's rerun (replayBlock)
// leaves the projection scratch and the block's output untouched — the O and Down products are
// skipped — and still rebuilds, bit for bit, every buffer the stored path's blockBackward reads.
func TestReplayRebuildsWhatBackwardReadsWithoutTheOAndDownProducts(t *testing.T) {
	smallAttnBlocks(t)
	for _, fam := range []string{"llama", "qwen3"} {
		const B, T = 2, 7
		stored, replayed := tinyModel(t, fam), tinyModel(t, fam)
		replayed.SetRecompute(true)
		attachLoRA(stored, rand.New(rand.NewSource(4)), 3)
		attachLoRA(replayed, rand.New(rand.NewSource(4)), 3)
		ids, labels := tinyBatch(rand.New(rand.NewSource(8)), stored.Config.VocabSize, B, T)
		as, err := stored.prepareTargets(ids, labels, B, T, true)
		if err != nil {
			t.Fatal(err)
		}
		stored.forward(as, ids)
		a, err := replayed.prepareTargets(ids, labels, B, T, true)
		if err != nil {
			t.Fatal(err)
		}
		replayed.forward(a, ids)
		if !a.useMid {
			t.Fatalf("%s: recomputation does not keep the mid residuals", fam)
		}
		nan := float32(math.NaN())
		for i := range a.scratch {
			a.scratch[i] = nan
		}
		out := append([]float32(nil), a.res[1]...)
		for i := range a.res[1] {
			a.res[1][i] = nan
		}
		replayed.replayBlock(0, a)
		for i, v := range a.scratch {
			if v == v {
				t.Fatalf("%s: the rerun wrote the projection scratch at %d (an O or Down product ran)", fam, i)
			}
		}
		for i, v := range a.res[1] {
			if v == v {
				t.Fatalf("%s: the rerun wrote the block's output at %d", fam, i)
			}
		}
		copy(a.res[1], out)
		ls, lr := as.layer(0), a.layer(0)
		for _, b := range []struct {
			name string
			s, r []float32
		}{{"ln1", ls.ln1, lr.ln1}, {"rstd1", ls.rstd1, lr.rstd1}, {"q", ls.q, lr.q}, {"k", ls.k, lr.k}, {"v", ls.v, lr.v},
			{"qRaw", ls.qRaw, lr.qRaw}, {"attY", ls.attY, lr.attY}, {"res2", ls.res2, lr.res2}, {"ln2", ls.ln2, lr.ln2},
			{"rstd2", ls.rstd2, lr.rstd2}, {"a", ls.a, lr.a}, {"u", ls.u, lr.u}, {"h", ls.h, lr.h}} {
			if len(b.s) != len(b.r) {
				t.Fatalf("%s: %s has %d values replayed, %d stored", fam, b.name, len(b.r), len(b.s))
			}
			for i := range b.s {
				if math.Float32bits(b.s[i]) != math.Float32bits(b.r[i]) {
					t.Fatalf("%s: %s[%d] = %v replayed, %v stored", fam, b.name, i, b.r[i], b.s[i])
				}
			}
		}
	}
}
