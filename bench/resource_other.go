//go:build !unix

package bench

// peakRSSMiB is unknown on this platform: 0.
func peakRSSMiB() float64 { return 0 }

// cpuSeconds is unknown on this platform: 0.
func cpuSeconds() float64 { return 0 }
