package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workers is the number of goroutines parallelFor uses (and the number of per-worker scratch
// buffers the activations hold).
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// parallelFor runs fn(i, w) for i in [0, n) on up to nw goroutines; w in [0, nw) identifies the
// worker so fn can use per-worker scratch. Work items are handed out one at a time.
func parallelFor(n, nw int, fn func(i, w int)) {
	nw = min(nw, n)
	if nw <= 1 {
		for i := 0; i < n; i++ {
			fn(i, 0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i, w)
			}
		}()
	}
	wg.Wait()
}

// parallelRange splits [0, n) into contiguous pieces of at least grain items and runs fn(lo, hi)
// on them concurrently (serially when n is small).
func parallelRange(n, grain int, fn func(lo, hi int)) {
	pieces, step := split(n, grain)
	if pieces <= 1 {
		fn(0, n)
		return
	}
	parallelFor(pieces, pieces, func(i, _ int) {
		lo := i * step
		fn(lo, min(n, lo+step))
	})
}

// split cuts [0, n) into at most workers() pieces of at least grain items: their number and the
// length of each but the last (piece i is [i·step, min(n, (i+1)·step))).
func split(n, grain int) (pieces, step int) {
	pieces = min(workers(), max(1, n/max(grain, 1)))
	return pieces, (n + pieces - 1) / pieces
}
