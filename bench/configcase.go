package bench

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/moslora/moslora/model"
)

// Cases lists the cases a run selects from: the four cases of the --config / --preset model
// when one is set (ConfigCases), else AllCases.
func (o *Options) Cases() ([]Case, error) {
	cm, err := LoadConfigModel(o.ConfigFile, o.Preset)
	if err != nil {
		return nil, err
	}
	if cm == nil {
		return AllCases(), nil
	}
	if limit := cm.Config.MaxPositionEmbeddings; limit > 0 && o.Seq > limit {
		return nil, fmt.Errorf("bench: --seq %d is longer than %s's \"max_position_embeddings\" (%d)", o.Seq, cm.From, limit)
	}
	return ConfigCases(cm), nil
}

// fullBytesPerParam is what full fine-tuning holds per parameter: the float32 weight, its
// gradient and AdamW's two moments.
const fullBytesPerParam = 16

// checkMemory returns the bytes the case's model holds before any activation (the base in its
// dtype; full fine-tuning: fullBytesPerParam a parameter) and refuses, with the estimate and what
// to change, a case that needs more than the machine's physical memory (Linux; elsewhere no
// check).
func (o *Options) checkMemory(c Case, cfg *model.Config) (int64, error) {
	total, ok := memTotal()
	if !ok {
		total = math.MaxInt64
	}
	return o.checkMemoryAgainst(c, cfg, total)
}

// checkMemoryAgainst is checkMemory on a machine of total bytes.
func (o *Options) checkMemoryAgainst(c Case, cfg *model.Config, total int64) (int64, error) {
	base, err := model.ParseBaseDtype(o.BaseDtype)
	if err != nil {
		return 0, fmt.Errorf("bench: --base-dtype: %w", err)
	}
	need, err := cfg.BaseBytes(base)
	if err != nil {
		return 0, err
	}
	if c.Method == MethodFull {
		need = fullBytesPerParam * cfg.NumParams()
	}
	if need <= total {
		return need, nil
	}
	gib := func(b int64) string { return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB" }
	if c.Method == MethodFull {
		return 0, fmt.Errorf("bench: %s refused: full fine-tuning of %.2fB parameters holds %s (float32 weights, gradients and two AdamW moments, %d bytes a parameter) and this machine has %s; run lora or moslora with --base-dtype bf16 or q8",
			c.Name, float64(cfg.NumParams())/1e9, gib(need), fullBytesPerParam, gib(total))
	}
	return 0, fmt.Errorf("bench: %s refused: its frozen base holds %s with --base-dtype %s and this machine has %s; use --base-dtype bf16 or q8",
		c.Name, gib(need), o.BaseDtype, gib(total))
}

// memTotal is the machine's physical memory (MemTotal of /proc/meminfo), false where unknown.
func memTotal() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kib << 10, err == nil
		}
	}
	return 0, false
}
