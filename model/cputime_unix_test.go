//go:build unix

package model

import "syscall"

// cpuSeconds is the user+system CPU time of the process so far: benchmarks report work per
// CPU-second because the machine is shared and wall time counts other processes.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
