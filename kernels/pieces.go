package kernels

import (
	"runtime"
	"sync"
)

// parallelGrain is the least number of elements of an optimizer update or a gradient norm worth
// a goroutine (about 0.1 ms of AdamW).
const parallelGrain = 1 << 16

// pieces splits [0, n) into at most GOMAXPROCS contiguous pieces of at least grain items and
// runs fn(lo, hi) on them concurrently; serially, as fn(0, n), when n is under two grains. Only
// for loops whose every item is independent of the others: the split must not change a result.
func pieces(n, grain int, fn func(lo, hi int)) {
	nw := min(runtime.GOMAXPROCS(0), n/max(grain, 1))
	if nw <= 1 {
		fn(0, n)
		return
	}
	step := (n + nw - 1) / nw
	var wg sync.WaitGroup
	for lo := step; lo < n; lo += step {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, min(n, lo+step))
		}()
	}
	fn(0, min(n, step))
	wg.Wait()
}
