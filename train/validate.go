package train

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/internal/setting"
	"github.com/moslora/moslora/model"
)

// This file checks a run's settings before any work: every error names the flag and the values
// it accepts (as *setting.Error: by key here, as a flag in the CLI). Config.Validate checks the settings alone, CheckFlags what only the command line
// tells, CheckAgainstModel what depends on the model (targets, rank, memory).

// validateRanges checks the numeric settings Config.Validate leaves to it.
func (c *Config) validateRanges() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if c.Method != MethodFull && (!finite(c.Alpha) || c.Alpha <= 0) {
		return setting.Errorf("train", "alpha", c.Alpha, ": expected a positive finite number (the adapter's scale is alpha/rank)")
	}
	if !finite(c.Clip) || c.Clip < 0 {
		return setting.Errorf("train", "clip", c.Clip, ": expected a finite number ≥ 0 (0 turns clipping off)")
	}
	if !finite(c.WeightDecay) || c.WeightDecay < 0 {
		return setting.Errorf("train", "weight-decay", c.WeightDecay, ": expected a finite number ≥ 0")
	}
	if c.Steps < 0 || c.Epochs < 0 {
		return setting.Errorf("train", "steps", c.Steps, " / %s %d: expected numbers ≥ 0", setting.Ref("epochs"), c.Epochs)
	}
	if kind, ok := mixer.ByMethod(c.Method); ok && kind.TopK {
		k := mixer.TopKFor(c.TopK, c.Subspaces)
		if c.TopK < 0 || k > max(c.Subspaces, 1) {
			return setting.Errorf("train", "top-k", k, ": expected k from 1 to %s %d (the subspaces each token keeps, of the K subspaces; 0: 2, or K when K < 2)", setting.Ref("subspaces"), c.Subspaces)
		}
	}
	switch c.MixerInit {
	case "", adapter.InitKaiming, adapter.InitOrthogonal, adapter.InitIdentity:
	default:
		return setting.Errorf("train", "mixer-init", strconv.Quote(c.MixerInit), ": expected kaiming, orthogonal or identity")
	}
	if _, err := model.ParseCompute(c.Compute); err != nil {
		return setting.Errorf("train", "compute", strconv.Quote(c.Compute), ": expected f32 or bf16")
	}
	return nil
}

// CheckFlags checks what only the command line can tell: values that mean "default" in Files but
// nothing on the command line (--keep 0, an error), and flags given that the chosen method ignores
// (a warning each, so that one set of flags can serve every method of a sweep). given reports
// whether a flag was set by the user.
func CheckFlags(c Config, keep int, given func(flag string) bool) (warnings []*setting.Error, err error) {
	if given("keep") && keep < 1 {
		return nil, setting.Errorf("train", "keep", keep, ": expected a number ≥ 1 (the newest checkpoint is always kept)")
	}
	kind, _ := mixer.ByMethod(c.Method)
	if given("subspaces") && !kind.Subspaces {
		warnings = append(warnings, setting.Warning("subspaces", c.Subspaces, " is ignored: only %s global, gated and gated-topk split the rank into subspaces, not %s", setting.Ref("method"), c.Method))
	}
	if kind.TopK && mixer.TopKFor(c.TopK, c.Subspaces) == 1 {
		warnings = append(warnings, setting.Warning("top-k", 1, ": each token's single gate is 1 whatever the router says, so the router gets no gradient and never learns (routing stays as initialised); use k ≥ 2 to train it"))
	}
	if given("top-k") && !kind.TopK {
		warnings = append(warnings, setting.Warning("top-k", c.TopK, " is ignored: only %s gated-topk keeps the top k gates, not %s", setting.Ref("method"), c.Method))
	}
	if given("mixer-init") && c.Method != MethodMoSLoRA {
		warnings = append(warnings, setting.Warning("mixer-init", c.MixerInit, " is ignored: only %s moslora has a dense mixer to initialise, not %s", setting.Ref("method"), c.Method))
	}
	if c.Method == MethodFull {
		for _, fl := range []string{"rank", "alpha", "targets"} {
			if given(fl) {
				warnings = append(warnings, setting.Warning(fl, nil, " is ignored: %s full trains every weight and has no adapter to shape", setting.Ref("method")))
			}
		}
	}
	return warnings, nil
}

// CheckAgainstModel checks what depends on the model before anything is allocated: that the
// targets name linear layers of m, that the rank fits every targeted layer (r ≤ min(in, out)),
// and that the adapter and its optimizer state fit in the machine's memory.
func (c *Config) CheckAgainstModel(m adapter.Base) error {
	if c.Method == MethodFull {
		return nil
	}
	ac := c.AdapterConfig()
	lins, err := ac.Selected(m)
	if err != nil {
		return setting.Wrap(err, "train", "targets", strings.Join(c.Targets, ","), ": %s", strings.TrimPrefix(err.Error(), `field "target_modules": `))
	}
	smallest, name := math.MaxInt, ""
	var floats float64
	for _, l := range lins {
		if d := min(l.In, l.Out); d < smallest {
			smallest, name = d, fmt.Sprintf("%s (in %d, out %d)", l.Path, l.In, l.Out)
		}
		r := float64(c.Rank)
		floats += r * float64(l.In+l.Out)
		switch c.Method {
		case MethodMoSLoRA:
			floats += r * r
		case MethodGated, MethodGatedTopK:
			floats += float64(c.Subspaces) * float64(l.In+1)
		}
	}
	if c.Rank > smallest {
		return setting.Errorf("train", "rank", c.Rank, " is larger than the smallest targeted layer, %s; expected 1 to %d for these %s", name, smallest, setting.Ref("targets"))
	}
	// Weights, gradients and two AdamW moments in float32, and one more copy while saving.
	need := floats * 4 * 5
	if total := totalMemory(); total > 0 && need > 0.8*float64(total) {
		return setting.Errorf("train", "rank", c.Rank, ": the adapter and its optimizer state need about %s, more than this machine's %s of memory allows; use a smaller %s or fewer %s", humanBytes(need), humanBytes(float64(total)), setting.Ref("rank"), setting.Ref("targets"))
	}
	return nil
}

// totalMemory returns the machine's memory in bytes (0 when unknown).
func totalMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func humanBytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", b/(1<<10))
}

// warnWarmup says when --warmup is longer than the run and what learning rates it therefore uses.
func warnWarmup(rep Reporter, cfg Config, total int, names func(string) string) {
	if cfg.Warmup <= total || total <= 0 {
		return
	}
	peak := cfg.LR * LRFactor(cfg.Schedule, total-1, cfg.Warmup, total)
	w := setting.Warning("warmup", cfg.Warmup, " is longer than the run (%d updates): the learning rate rises linearly for the whole run and peaks at %.3g instead of %s %g", total, peak, setting.Ref("lr"), cfg.LR)
	if names == nil {
		names = setting.Key
	}
	rep.Printf("%s", w.Render(names))
}
