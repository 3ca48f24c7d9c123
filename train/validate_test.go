package train

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/moslora/moslora/model"
)

// shapes is an adapter.Base made of weightless linear layers: enough to check ranks and memory
// without allocating a model.
type shapes []*model.Linear

func (s shapes) Linears() []*model.Linear { return s }

func layers(n, in, out int) shapes {
	var s shapes
	for i := 0; i < n; i++ {
		s = append(s, &model.Linear{Path: fmt.Sprintf("model.layers.%d.self_attn.q_proj", i), In: in, Out: out},
			&model.Linear{Path: fmt.Sprintf("model.layers.%d.self_attn.k_proj", i), In: in, Out: out / 2})
	}
	return s
}

func TestRankIsCheckedAgainstTheSmallestTargetedLayer(t *testing.T) {
	c := DefaultConfig()
	c.Targets = []string{"q", "k"}
	c.Rank = 33
	err := c.CheckAgainstModel(layers(2, 64, 64))
	if err == nil || !strings.Contains(err.Error(), "--rank 33") || !strings.Contains(err.Error(), "k_proj") || !strings.Contains(err.Error(), "1 to 32") {
		t.Fatalf("rank above the k projection's 32: %v", err)
	}
	c.Targets = []string{"q"}
	if err := c.CheckAgainstModel(layers(2, 64, 64)); err != nil {
		t.Fatalf("rank 33 on 64×64 layers only: %v", err)
	}
}

func TestRankBeyondMemoryIsRefusedBeforeAllocation(t *testing.T) {
	if totalMemory() == 0 {
		t.Skip("the machine's memory is unknown here (no /proc/meminfo)")
	}
	c := DefaultConfig()
	c.Targets = []string{"q"}
	c.Rank = 1 << 14
	// 4096 layers of (2^20, 2^20): r·(in+out)·20 bytes each is far beyond any machine.
	err := c.CheckAgainstModel(layers(4096, 1<<20, 1<<20))
	if err == nil || !strings.Contains(err.Error(), "memory") || !strings.Contains(err.Error(), "--rank 16384") {
		t.Fatalf("an adapter of petabytes: %v", err)
	}
}

func TestSettingsOutOfRangeNameTheirFlag(t *testing.T) {
	for flag, set := range map[string]func(*Config){
		"--alpha":        func(c *Config) { c.Alpha = -1 },
		"--alpha NaN":    func(c *Config) { c.Alpha = math.NaN() },
		"--clip":         func(c *Config) { c.Clip = -0.5 },
		"--weight-decay": func(c *Config) { c.WeightDecay = math.Inf(1) },
		"--mixer-init":   func(c *Config) { c.MixerInit = "zeros" },
	} {
		c := DefaultConfig()
		set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: %v", flag, err)
		}
	}
	given := func(names ...string) func(string) bool {
		return func(f string) bool {
			for _, n := range names {
				if n == f {
					return true
				}
			}
			return false
		}
	}
	c := DefaultConfig()
	c.Method = MethodLoRA
	if w, err := CheckFlags(c, 0, given("subspaces")); err != nil || len(w) != 1 || !strings.Contains(w[0], "--subspaces 1 is ignored") {
		t.Errorf("--subspaces with lora: warnings %q, %v", w, err)
	}
	c.MixerInit = "orthogonal"
	if w, _ := CheckFlags(c, 0, given("mixer-init")); len(w) != 1 || !strings.Contains(w[0], "--mixer-init orthogonal is ignored") {
		t.Errorf("--mixer-init with lora: warnings %q", w)
	}
	if w, err := CheckFlags(c, 0, given("rank", "alpha")); err != nil || len(w) != 0 {
		t.Errorf("--rank and --alpha with lora: warnings %q, %v", w, err)
	}
	c.Method = MethodFull
	if w, _ := CheckFlags(c, 0, given("rank", "targets")); len(w) != 2 {
		t.Errorf("--rank and --targets with full: warnings %q", w)
	}
	if _, err := CheckFlags(DefaultConfig(), 0, given("keep")); err == nil || !strings.Contains(err.Error(), "--keep 0") {
		t.Errorf("--keep 0: %v", err)
	}
}

type lines []string

func (l *lines) Start(int, int)            {}
func (l *lines) Step(Metric, int)          {}
func (l *lines) Finish()                   {}
func (l *lines) Printf(f string, a ...any) { *l = append(*l, fmt.Sprintf(f, a...)) }

func TestWarmupLongerThanTheRunIsReported(t *testing.T) {
	var l lines
	c := DefaultConfig() // warmup 30
	warnWarmup(&l, c, 10)
	if len(l) != 1 || !strings.Contains(l[0], "--warmup 30 is longer than the run (10 updates)") {
		t.Fatalf("%q", l)
	}
	l = nil
	warnWarmup(&l, c, 300)
	if len(l) != 0 {
		t.Fatalf("warned on a run longer than its warm-up: %q", l)
	}
}
