//go:build unix

package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// peakRSSMiB is the process's peak resident set size in MiB: VmHWM from /proc/self/status on
// Linux, else getrusage's ru_maxrss (KiB on Linux and the BSDs, bytes on Darwin). 0 if unknown.
func peakRSSMiB() float64 {
	if runtime.GOOS == "linux" {
		if kib, ok := vmHWM(); ok {
			return kib / 1024
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(ru.Maxrss) / (1 << 20)
	}
	return float64(ru.Maxrss) / 1024
}

// vmHWM reads the "VmHWM:  123 kB" line of /proc/self/status, in KiB.
func vmHWM() (float64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, false
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		return v, err == nil
	}
	return 0, false
}

// cpuSeconds is the user + system CPU time of the process so far (0 if unknown). The machine may
// be shared, so CPU time per step is reported beside wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
