//go:build !unix

package model

// cpuSeconds is 0 where the process's CPU time is not read: the benchmark's per-CPU-second
// figure is then meaningless (+Inf).
func cpuSeconds() float64 { return 0 }
