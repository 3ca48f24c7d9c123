//go:build unix

package tokenizer

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time of this process: benchmarks report throughput per
// CPU-second besides wall-clock MB/s, which stays meaningful on a machine shared with other jobs.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
