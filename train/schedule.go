package train

import (
	"fmt"
	"math"
)

// Schedule names (Config.Schedule).
const (
	ScheduleCosine   = "cosine"
	ScheduleLinear   = "linear"
	ScheduleConstant = "constant"
)

// LRFactor is the learning-rate multiplier used by the optimizer update with 0-based index step
// out of total updates after warmup steps of linear warm-up. It reproduces the Hugging Face
// transformers schedules (get_{cosine,linear,constant}_schedule_with_warmup, num_cycles 0.5) as
// stepped by the Trainer, where update number i uses lr_lambda(i):
//
//	step < warmup:  step / warmup                      (so the very first update has lr 0 when warmup > 0)
//	cosine:         0.5·(1 + cos(π·p)),  p = (step-warmup)/(total-warmup)
//	linear:         (total-step)/(total-warmup)
//	constant:       1
//
// Cosine and linear decay to 0 at step = total; factors never go below 0.
func LRFactor(schedule string, step, warmup, total int) float64 {
	if step < warmup {
		return float64(step) / float64(max(1, warmup))
	}
	switch schedule {
	case ScheduleConstant:
		return 1
	case ScheduleLinear:
		return max(0, float64(total-step)/float64(max(1, total-warmup)))
	default: // cosine
		p := float64(step-warmup) / float64(max(1, total-warmup))
		return max(0, 0.5*(1+math.Cos(math.Pi*p)))
	}
}

// checkSchedule validates a schedule name.
func checkSchedule(s string) error {
	switch s {
	case ScheduleCosine, ScheduleLinear, ScheduleConstant:
		return nil
	}
	return fmt.Errorf("train: unknown schedule %q (expected cosine, linear or constant)", s)
}
