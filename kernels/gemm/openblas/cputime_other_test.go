//go:build !unix

package openblas

// cpuSeconds is unavailable here: benchmarks then report GFLOP/s only.
func cpuSeconds() float64 { return 0 }
