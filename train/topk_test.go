package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/setting"
)

// A gated-topk run (K = 4, k = 2) trains, logs the routed gates' usage and entropy like a gated
// run, and builds every mixer with k = 2. Each token's gate has at most 2 nonzero entries, so the
// per-token entropy, and hence its mean, is at most ln 2 (a plain gated K = 4 run starts at ln 4).
func TestGatedTopKRunsAndLogsItsRoutedGates(t *testing.T) {
	job := tinyJob(t, MethodGatedTopK, t.TempDir())
	job.Config.Subspaces, job.Config.Warmup = 4, 0
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Adapter.Config.TopK != 2 || res.Adapter.Config.Mixer != mixer.GatedTopKName {
		t.Fatalf("adapter config: mixer %q, top_k %d; want gated-topk, 2", res.Adapter.Config.Mixer, res.Adapter.Config.TopK)
	}
	for _, l := range res.Adapter.Linears {
		if q, ok := l.Mixer.(*mixer.TopK); !ok || q.Top != 2 {
			t.Fatalf("%s: mixer %T, want gated-topk with k = 2", l.Path, l.Mixer)
		}
	}
	ms := readMetrics(t, filepath.Join(job.Out, MetricsFile))
	if len(ms) != 7 {
		t.Fatalf("%d metric lines, want 7", len(ms))
	}
	for i, m := range ms {
		if m.GateEntropy == nil || len(m.GateUsage) != 4 || len(m.GateUsageModules) != 14 {
			t.Fatalf("update %d: gate fields %v %v (%d modules)", i+1, m.GateEntropy, m.GateUsage, len(m.GateUsageModules))
		}
		var sum float64
		for _, u := range m.GateUsage {
			sum += u
		}
		if math.Abs(sum-1) > 1e-6 || !(*m.GateEntropy > 0) || *m.GateEntropy > math.Ln2+1e-9 {
			t.Errorf("update %d: usage %v (sum %v), entropy %v; want a sum of 1 and 0 < entropy ≤ ln 2", i+1, m.GateUsage, sum, *m.GateEntropy)
		}
	}
}

func TestTopKIsValidatedNamingItsSetting(t *testing.T) {
	c := DefaultConfig()
	c.Method = MethodGatedTopK // K = 1 by default: k not set means K = 1 (what sweep checks a method with)
	if err := c.Validate(); err != nil {
		t.Errorf("gated-topk with the defaults (K = 1): %v", err)
	}
	c.TopK = 2
	err := c.Validate()
	var se *setting.Error
	if !errors.As(err, &se) || se.Setting != "top-k" || !strings.HasPrefix(err.Error(), "train: top-k 2: expected k from 1 to subspaces 1") {
		t.Errorf("gated-topk with k = 2 > K = 1: %v", err)
	}
	c.Subspaces, c.Rank = 4, 8
	if err := c.Validate(); err != nil {
		t.Errorf("gated-topk K = 4, k = 2: %v", err)
	}
	for _, k := range []int{5, -1} {
		c.TopK = k
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("train: top-k %d:", k)) {
			t.Errorf("k = %d, K = 4: %v", k, err)
		}
	}
	given := func(f string) bool { return f == "top-k" }
	c.TopK = 1
	if w, err := CheckFlags(c, 1, given); err != nil || len(w) != 1 || !strings.Contains(w[0].Error(), "the router gets no gradient") {
		t.Errorf("--top-k 1: warnings %q, %v", w, err)
	}
	c.TopK = 2
	if w, err := CheckFlags(c, 1, given); err != nil || len(w) != 0 {
		t.Errorf("--top-k 2 with gated-topk: warnings %q, %v", w, err)
	}
	c.Method, c.TopK = MethodGated, 3
	if w, err := CheckFlags(c, 1, given); err != nil || len(w) != 1 || !strings.HasPrefix(w[0].Error(), "warning: top-k 3 is ignored: only method gated-topk") {
		t.Errorf("--top-k with gated: warnings %q, %v", w, err)
	}
	if w, _ := CheckFlags(c, 1, func(f string) bool { return f == "subspaces" }); len(w) != 0 {
		t.Errorf("--subspaces with gated: warnings %q", w)
	}
}

// top_k is part of a run's settings only where it shapes the adapter: a run of any other method
// has the config (and checkpoint) it had before top_k existed.
func TestCanonicalKeepsTopKOnlyForGatedTopK(t *testing.T) {
	c := DefaultConfig()
	c.TopK = 3
	if c.Canonical().TopK != 0 {
		t.Errorf("moslora with top_k 3: canonical %d, want 0", c.Canonical().TopK)
	}
	c.Method, c.TopK, c.Subspaces = MethodGatedTopK, 0, 4
	if got := c.Canonical().TopK; got != mixer.DefaultTopK {
		t.Errorf("gated-topk K = 4 with top_k 0: canonical %d, want the default %d", got, mixer.DefaultTopK)
	}
	c.Subspaces = 1
	if got := c.Canonical().TopK; got != 1 {
		t.Errorf("gated-topk K = 1 with top_k 0: canonical %d, want K = 1", got)
	}
	c.TopK = 3
	if got := c.Canonical().TopK; got != 3 {
		t.Errorf("gated-topk with top_k 3: canonical %d", got)
	}
}
