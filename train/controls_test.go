package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
)

// The folded control trains exactly as plain LoRA started from A' = M·A: same tensors, bit for
// bit, after 7 updates (dropout, data order and B's init depend on the seed only).
func TestFoldedControlTrainsAsLoRAFromFoldedA(t *testing.T) {
	dir := t.TempDir()
	fj := tinyJob(t, "moslora-folded", filepath.Join(dir, "folded"))
	var initA map[string][]float32
	fj.start = func(a *adapter.Adapter) {
		initA = map[string][]float32{}
		for _, l := range a.Linears {
			initA[l.Path] = append([]float32(nil), l.A...)
		}
	}
	fres, err := Run(context.Background(), fj)
	if err != nil {
		t.Fatal(err)
	}
	lj := tinyJob(t, MethodLoRA, filepath.Join(dir, "lora"))
	lj.start = func(a *adapter.Adapter) {
		for _, l := range a.Linears {
			copy(l.A, initA[l.Path])
		}
	}
	lres, err := Run(context.Background(), lj)
	if err != nil {
		t.Fatal(err)
	}
	f, l := trained(fj, fres), trained(lj, lres)
	if len(f) != len(l) || len(f) == 0 {
		t.Fatalf("folded has %d tensors, LoRA %d", len(f), len(l))
	}
	moved := false
	for name, w := range f {
		g, ok := l[name]
		if !ok {
			t.Fatalf("%s: not in the LoRA adapter", name)
		}
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
				t.Fatalf("%s[%d]: folded %v, LoRA from A' %v", name, i, w[i], g[i])
			}
		}
	}
	for _, lin := range fres.Adapter.Linears {
		for i, v := range lin.A {
			if v != initA[lin.Path][i] {
				moved = true
			}
		}
	}
	if !moved {
		t.Error("training did not move A': the comparison would hold trivially")
	}
	if fres.FinalLoss != lres.FinalLoss {
		t.Errorf("final loss %v (folded) vs %v (LoRA from A')", fres.FinalLoss, lres.FinalLoss)
	}
}

// runTiny trains the tiny job with edits and returns its tensors by key and each key's group, and
// per update (1-based) a snapshot of every tensor.
func runTiny(t *testing.T, method string, edit func(*Job)) (final map[string][]float32, groups map[string]string, steps []map[string][]float32) {
	t.Helper()
	job := tinyJob(t, method, t.TempDir())
	job.SaveEvery = 0
	edit(job)
	var res *Result
	snap := func(a *adapter.Adapter) map[string][]float32 {
		m := map[string][]float32{}
		for _, p := range a.Params() {
			m[p.Key] = append([]float32(nil), p.W...)
		}
		return m
	}
	var ad *adapter.Adapter
	prev := job.start
	job.start = func(a *adapter.Adapter) {
		if prev != nil {
			prev(a)
		}
		ad = a
		steps = append(steps, snap(a)) // steps[0]: the initial values
	}
	job.AfterStep = func(int) error { steps = append(steps, snap(ad)); return nil }
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	groups = map[string]string{}
	for _, p := range res.Adapter.Params() {
		groups[p.Key] = p.Group
	}
	return trained(job, res), groups, steps
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// LoRA+ ratios of 1 are today's training, byte for byte (for every mixer family).
func TestLRRatiosOfOneAreByteIdenticalToNoRatios(t *testing.T) {
	for _, method := range []string{MethodLoRA, MethodMoSLoRA, MethodGated} {
		base, _, _ := runTiny(t, method, func(*Job) {})
		ones, _, _ := runTiny(t, method, func(j *Job) { j.Config.LRRatioB, j.Config.LRRatioMixer = 1, 1 })
		for k, w := range base {
			if !sameBits(w, ones[k]) {
				t.Errorf("%s: %s differs with ratios 1", method, k)
			}
		}
	}
}

// With lr_ratio_b = 4 the first update moves B four times as far (AdamW's first step is
// lr·g/(|g|+ε) per element, A and the mixer have a zero gradient while B = 0); with
// lr_ratio_mixer = 4 the mixer's second update is four times the base run's, and A is unaffected.
func TestLRRatiosScaleTheUpdatesOfBAndTheMixer(t *testing.T) {
	plain := func(j *Job) { j.Config.Warmup, j.Config.WeightDecay = 0, 0 }
	_, groups, base := runTiny(t, MethodMoSLoRA, plain)
	_, _, rb := runTiny(t, MethodMoSLoRA, func(j *Job) { plain(j); j.Config.LRRatioB = 4 })
	_, _, rm := runTiny(t, MethodMoSLoRA, func(j *Job) { plain(j); j.Config.LRRatioMixer = 4 })
	ratioOf := func(run []map[string][]float32, step int, key string) (ratio float64, n int) {
		// mean of Δrun / Δbase over the elements the base update moved
		var sum float64
		for i, w0 := range base[step-1][key] {
			db := float64(base[step][key][i] - w0)
			dr := float64(run[step][key][i] - run[step-1][key][i])
			if math.Abs(db) > 1e-7 {
				sum += dr / db
				n++
			}
		}
		if n == 0 {
			return 0, 0
		}
		return sum / float64(n), n
	}
	checked := map[string]int{}
	for key, g := range groups {
		switch g {
		case adapter.GroupB:
			r, n := ratioOf(rb, 1, key)
			if n == 0 || math.Abs(r-4) > 1e-3 {
				t.Errorf("%s: first-update ratio %v over %d elements, want 4", key, r, n)
			}
			checked[g]++
		case adapter.GroupMixer:
			if !sameBits(rm[1][key], base[1][key]) {
				t.Errorf("%s: the mixer moved in the first update (its gradient is zero while B = 0)", key)
			}
			r, n := ratioOf(rm, 2, key)
			if n == 0 || math.Abs(r-4) > 1e-3 {
				t.Errorf("%s: second-update ratio %v over %d elements, want 4", key, r, n)
			}
			checked[g]++
		case adapter.GroupA:
			if !sameBits(rm[2][key], base[2][key]) {
				t.Errorf("%s: A differs after 2 updates with a mixer ratio", key)
			}
			checked[g]++
		}
	}
	if checked[adapter.GroupA] == 0 || checked[adapter.GroupB] == 0 || checked[adapter.GroupMixer] == 0 {
		t.Fatalf("groups checked: %v", checked)
	}
}

// A mixer warm-up of N updates leaves A and B exactly at their initial values for N updates
// and trains them afterwards; the mixer's tensors are updated from the first update. With B = 0
// (PEFT's initialisation) the mixer's gradient is zero, so during the warm-up only weight decay
// moves it — what the warning says.
func TestMixerWarmupFreezesAAndBForNUpdates(t *testing.T) {
	const n = 3
	var lines []string
	_, groups, steps := runTiny(t, MethodGated, func(j *Job) {
		j.Config.MixerWarmup = n
		j.Config.Warmup = 0
		j.Reporter = recorder{&lines}
		j.start = func(a *adapter.Adapter) { // a non-zero B, so that the mixer has a gradient
			for _, l := range a.Linears {
				for i := range l.B {
					l.B[i] = 0.05 * float32(math.Sin(float64(i+1)))
				}
			}
		}
	})
	if len(steps) != 8 {
		t.Fatalf("%d snapshots, want 8 (initial + 7 updates)", len(steps))
	}
	moved := map[string]bool{}
	for key, g := range groups {
		for s := 1; s <= 7; s++ {
			same := sameBits(steps[s][key], steps[s-1][key])
			switch {
			case g != adapter.GroupMixer && s <= n && !same:
				t.Errorf("%s (%s) changed in warm-up update %d", key, g, s)
			case !same:
				moved[g] = true
			}
		}
	}
	for _, g := range []string{adapter.GroupA, adapter.GroupB, adapter.GroupMixer} {
		if !moved[g] {
			t.Errorf("group %s never moved", g)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "B starts at zero") {
			t.Errorf("warned about a zero B although B was set: %q", l)
		}
	}

	var warn []string
	runTiny(t, MethodMoSLoRA, func(j *Job) { j.Config.MixerWarmup = n; j.Reporter = recorder{&warn} })
	if !strings.Contains(strings.Join(warn, "\n"), "B starts at zero") {
		t.Errorf("no warning about the zero gradient of the mixer while B = 0: %q", warn)
	}

	job := tinyJob(t, MethodLoRA, t.TempDir())
	job.Config.MixerWarmup = n
	if _, err := Run(context.Background(), job); err == nil || !strings.Contains(err.Error(), "mixer_warmup") {
		t.Errorf("lora with a mixer warm-up: got %v, want an error naming mixer_warmup", err)
	}
}

// recorder is a Reporter that keeps Printf's lines.
type recorder struct{ lines *[]string }

func (r recorder) Printf(format string, a ...any) {
	*r.lines = append(*r.lines, fmt.Sprintf(format, a...))
}
func (recorder) Start(int, int)   {}
func (recorder) Step(Metric, int) {}
func (recorder) Finish()          {}

// A run with a mixer warm-up and LoRA+ ratios resumes bit-identically, from a checkpoint inside
// the warm-up and from one after it (A's and B's AdamW step counts start after the warm-up).
func TestResumeWithMixerWarmupIsBitIdentical(t *testing.T) {
	edit := func(j *Job) {
		j.Config.MixerWarmup, j.Config.LRRatioB, j.Config.LRRatioMixer = 3, 4, 2
		j.start = func(a *adapter.Adapter) {
			for _, l := range a.Linears {
				for i := range l.B {
					l.B[i] = 0.05 * float32(math.Cos(float64(i)))
				}
			}
		}
	}
	dir := t.TempDir()
	full := tinyJob(t, MethodMoSLoRA, filepath.Join(dir, "full"))
	edit(full)
	res, err := Run(context.Background(), full)
	if err != nil {
		t.Fatal(err)
	}
	want := trained(full, res)
	for _, stop := range []int{2, 5} {
		out := filepath.Join(dir, fmt.Sprint("stop", stop))
		first := tinyJob(t, MethodMoSLoRA, out)
		edit(first)
		first.stopAfter = stop
		if _, err := Run(context.Background(), first); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("got %v, want ErrInterrupted", err)
		}
		second := tinyJob(t, MethodMoSLoRA, out)
		edit(second)
		second.start = nil // resumed tensors come from the checkpoint
		second.Resume = true
		res2, err := Run(context.Background(), second)
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range trained(second, res2) {
			if !sameBits(w, want[k]) {
				t.Errorf("stopped at %d: %s differs after resuming", stop, k)
			}
		}
	}
}

// Equal-parameter LoRA: on the tiny model (Σ(in+out) = 232 per layer over the 7 projections, 2
// layers), MoSLoRA at r 8 trains 8·464 + 14·8² = 4608 parameters; LoRA's nearest is r 10
// (4640; r 9 gives 4176).
func TestMatchParamsTrainsLoRAAtMoSLoRAsCount(t *testing.T) {
	var lines []string
	job := tinyJob(t, MethodLoRA, t.TempDir())
	job.Config.Rank, job.Config.MatchParams, job.Config.Steps = 8, MethodMoSLoRA, 1
	job.Reporter = recorder{&lines}
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Adapter.Linears {
		if l.R != 10 {
			t.Fatalf("%s: rank %d, want 10", l.Path, l.R)
		}
	}
	if n := res.Adapter.NumParams(); n != 4640 {
		t.Errorf("LoRA trains %d parameters, want 4640", n)
	}
	mos := tinyJob(t, MethodMoSLoRA, t.TempDir())
	mos.Config.Rank, mos.Config.Steps = 8, 1
	mres, err := Run(context.Background(), mos)
	if err != nil {
		t.Fatal(err)
	}
	if n := mres.Adapter.NumParams(); n != 4608 {
		t.Errorf("MoSLoRA trains %d parameters, want 4608", n)
	}
	want := "equal parameters: rank 10 gives 4640 trainable parameters, moslora at rank 8 has 4608 (+0.69%)"
	if !strings.Contains(strings.Join(lines, "\n"), want) {
		t.Errorf("train printed %q, want the line %q", lines, want)
	}
	bad := tinyJob(t, MethodLoRA, t.TempDir())
	bad.Config.MatchParams = "dora"
	if _, err := Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), `match_params "dora"`) {
		t.Errorf("unknown match_params: got %v", err)
	}
}

// Every update of a gated run logs gate entropy and usage. The first update runs with G = 0 and
// c = 0, so every gate is exactly 1/K: entropy ln 2 and usage (½, ½) for K = 2, in each of the 14
// modules; later updates have moved the gates (entropy below ln 2), each module's usage still
// sums to 1 and the overall usage is the mean of the modules'. A MoSLoRA run logs none of it.
func TestGatedRunsLogGateEntropyAndUsage(t *testing.T) {
	job := tinyJob(t, MethodGated, t.TempDir())
	job.Config.Warmup = 0
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	ms := readMetrics(t, filepath.Join(job.Out, MetricsFile))
	if len(ms) != 7 {
		t.Fatalf("%d metric lines, want 7", len(ms))
	}
	for i, m := range ms {
		if m.GateEntropy == nil || len(m.GateUsage) != 2 || len(m.GateUsageModules) != 14 {
			t.Fatalf("update %d: gate fields %v %v (%d modules)", i+1, m.GateEntropy, m.GateUsage, len(m.GateUsageModules))
		}
		mean := make([]float64, 2)
		for path, u := range m.GateUsageModules {
			if len(u) != 2 || math.Abs(u[0]+u[1]-1) > 1e-6 {
				t.Errorf("update %d, %s: usage %v does not sum to 1", i+1, path, u)
			}
			mean[0] += u[0] / 14
			mean[1] += u[1] / 14
		}
		if math.Abs(mean[0]-m.GateUsage[0]) > 1e-12 || math.Abs(mean[1]-m.GateUsage[1]) > 1e-12 {
			t.Errorf("update %d: usage %v, mean of the modules' %v", i+1, m.GateUsage, mean)
		}
	}
	first := ms[0]
	if math.Abs(*first.GateEntropy-math.Ln2) > 1e-12 || math.Abs(first.GateUsage[0]-0.5) > 1e-12 || math.Abs(first.GateUsage[1]-0.5) > 1e-12 {
		t.Errorf("first update: entropy %v usage %v, want ln 2 = %v and [0.5 0.5]", *first.GateEntropy, first.GateUsage, math.Ln2)
	}
	last := ms[6]
	if !(*last.GateEntropy < math.Ln2-1e-9) || math.Abs(last.GateUsage[0]-0.5) < 1e-9 {
		t.Errorf("last update: entropy %v usage %v: the gates never moved", *last.GateEntropy, last.GateUsage)
	}

	mos := tinyJob(t, MethodMoSLoRA, t.TempDir())
	mos.Config.Steps = 1
	if _, err := Run(context.Background(), mos); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(mos.Out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "gate_") {
		t.Errorf("a moslora run logged gate fields: %s", b)
	}
}
