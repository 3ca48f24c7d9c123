package train

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/setting"
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
	if err == nil || !strings.Contains(err.Error(), "train: rank 33 ") || !strings.Contains(err.Error(), "k_proj") || !strings.Contains(err.Error(), "1 to 32") {
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
	if err == nil || !strings.Contains(err.Error(), "memory") || !strings.Contains(err.Error(), "train: rank 16384:") {
		t.Fatalf("an adapter of petabytes: %v", err)
	}
}

func TestSettingsOutOfRangeNameTheirSettingNotAFlag(t *testing.T) {
	for want, set := range map[string]func(*Config){
		"train: alpha -1:":             func(c *Config) { c.Alpha = -1 },
		"train: alpha NaN:":            func(c *Config) { c.Alpha = math.NaN() },
		"train: clip -0.5:":            func(c *Config) { c.Clip = -0.5 },
		"train: weight-decay +Inf:":    func(c *Config) { c.WeightDecay = math.Inf(1) },
		`train: mixer-init "zeros":`:   func(c *Config) { c.MixerInit = "zeros" },
		"train: steps -1 / epochs 0: ": func(c *Config) { c.Steps, c.Epochs = -1, 0 },
	} {
		c := DefaultConfig()
		set(&c)
		err := c.Validate()
		var se *setting.Error
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "--") {
			t.Errorf("%s: %v", want, err)
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
	if w, err := CheckFlags(c, 0, given("subspaces")); err != nil || len(w) != 1 || w[0].Setting != "subspaces" || !strings.HasPrefix(w[0].Error(), "warning: subspaces 1 is ignored: only method global") {
		t.Errorf("--subspaces with lora: warnings %q, %v", w, err)
	}
	c.MixerInit = "orthogonal"
	if w, _ := CheckFlags(c, 0, given("mixer-init")); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "warning: mixer-init orthogonal is ignored") {
		t.Errorf("--mixer-init with lora: warnings %q", w)
	}
	if w, err := CheckFlags(c, 0, given("rank", "alpha")); err != nil || len(w) != 0 {
		t.Errorf("--rank and --alpha with lora: warnings %q, %v", w, err)
	}
	c.Method = MethodFull
	if w, _ := CheckFlags(c, 0, given("rank", "targets")); len(w) != 2 {
		t.Errorf("--rank and --targets with full: warnings %q", w)
	}
	if _, err := CheckFlags(DefaultConfig(), 0, given("keep")); err == nil || err.Error() != "train: keep 0: expected a number ≥ 1 (the newest checkpoint is always kept)" {
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
	c := DefaultConfig()       // warmup 30
	warnWarmup(&l, c, 10, nil) // a library caller: settings by key
	if len(l) != 1 || !strings.HasPrefix(l[0], "warning: warmup 30 is longer than the run (10 updates)") || !strings.Contains(l[0], "instead of lr ") {
		t.Fatalf("%q", l)
	}
	l = nil
	warnWarmup(&l, c, 10, func(k string) string { return "--" + k }) // Job.Names from the CLI
	if len(l) != 1 || !strings.HasPrefix(l[0], "warning: --warmup 30 is longer") || !strings.Contains(l[0], "instead of --lr ") {
		t.Fatalf("%q", l)
	}
	l = nil
	warnWarmup(&l, c, 300, nil)
	if len(l) != 0 {
		t.Fatalf("warned on a run longer than its warm-up: %q", l)
	}
}
