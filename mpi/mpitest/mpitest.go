// Package mpitest runs the ranks of a job as goroutines of one process, connected in memory,
// so that tests of data-parallel code run in the default (pure-Go, CGO_ENABLED=0) build.
//
// # Invariants
//
//   - Allreduce sums in rank order 0, 1, …, n-1 (in float64 for float64 buffers, float32 for
//     float32 ones), so results are deterministic and equal on every rank.
//   - A collective called with buffers of different lengths, or after a rank aborted, returns
//     an error on every rank instead of blocking.
//   - Abort ends only the calling goroutine (runtime.Goexit) and makes every pending and later
//     collective of the group return an error naming the aborting rank.
package mpitest

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/moslora/moslora/mpi"
)

// Ranks returns n connected communicators: element r is rank r. Run each rank in its own
// goroutine (Run does).
func Ranks(n int) []mpi.Comm {
	if n < 1 {
		panic(fmt.Sprintf("mpitest: %d ranks", n))
	}
	g := &group{n: n, bufs: make([]any, n), roots: make([]int, n), abortRank: -1}
	g.cond = sync.NewCond(&g.mu)
	out := make([]mpi.Comm, n)
	for r := range out {
		out[r] = &rank{g: g, r: r}
	}
	return out
}

// Run calls fn(comm) for every rank of an n-rank group concurrently and returns each rank's
// error (nil for a rank that aborted: see Aborted).
func Run(n int, fn func(c mpi.Comm) error) []error {
	comms := Ranks(n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = fn(c)
		}()
	}
	wg.Wait()
	return errs
}

// Aborted returns the rank that called Abort on c's group and its code (rank -1 if none did).
func Aborted(c mpi.Comm) (who, code int) {
	g := c.(*rank).g
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.abortRank, g.abortCode
}

type group struct {
	n       int
	mu      sync.Mutex
	cond    *sync.Cond
	arrived int
	gen     int   // completed collectives
	bufs    []any // each rank's buffer in the current collective
	roots   []int // each rank's root argument (broadcasts)
	err     error // the current collective's error, seen by every rank
	aborted bool
	// abortRank, abortCode record Abort; abortRank is -1 until then.
	abortRank, abortCode int
}

type rank struct {
	g *group
	r int
}

func (c *rank) Rank() int { return c.r }
func (c *rank) Size() int { return c.g.n }

func (c *rank) AllreduceFloat32(buf []float32) error { return c.collective(buf, -1, sum[float32]) }
func (c *rank) AllreduceFloat64(buf []float64) error { return c.collective(buf, -1, sum[float64]) }
func (c *rank) AllreduceInt64(buf []int64) error     { return c.collective(buf, -1, sum[int64]) }
func (c *rank) BcastFloat32(buf []float32, root int) error {
	return c.collective(buf, root, bcast[float32])
}
func (c *rank) BcastFloat64(buf []float64, root int) error {
	return c.collective(buf, root, bcast[float64])
}
func (c *rank) BcastInt64(buf []int64, root int) error { return c.collective(buf, root, bcast[int64]) }
func (c *rank) Barrier() error                         { return c.collective([]int64{}, -1, sum[int64]) }

func (c *rank) Abort(code int) {
	g := c.g
	g.mu.Lock()
	if !g.aborted {
		g.aborted, g.abortRank, g.abortCode = true, c.r, code
	}
	g.cond.Broadcast()
	g.mu.Unlock()
	runtime.Goexit()
}

// collective deposits buf; the last rank to arrive runs combine over every rank's buffer while
// the others wait, then releases them all.
func (c *rank) collective(buf any, root int, combine func(bufs []any, root int) error) error {
	g := c.g
	if root >= g.n || root < -1 {
		panic(fmt.Sprintf("mpitest: broadcast root %d outside [0, %d)", root, g.n))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.aborted {
		return fmt.Errorf("mpitest: rank %d aborted the job", g.abortRank)
	}
	g.bufs[c.r], g.roots[c.r] = buf, root
	g.arrived++
	gen := g.gen
	if g.arrived == g.n {
		g.err = nil
		for r := range g.roots {
			if g.roots[r] != root {
				g.err = fmt.Errorf("mpitest: ranks disagree on the broadcast root (%d and %d)", g.roots[0], g.roots[r])
			}
		}
		if g.err == nil {
			g.err = combine(g.bufs, root)
		}
		g.arrived = 0
		g.gen++
		g.cond.Broadcast()
		return g.err
	}
	for gen == g.gen && !g.aborted {
		g.cond.Wait()
	}
	if gen == g.gen { // released by an abort, not by the collective
		return fmt.Errorf("mpitest: rank %d aborted the job", g.abortRank)
	}
	return g.err
}

type number interface{ float32 | float64 | int64 }

// typed converts the deposited buffers, checking that every rank passed the same type and
// length.
func typed[T number](bufs []any) ([][]T, error) {
	out := make([][]T, len(bufs))
	for r, b := range bufs {
		s, ok := b.([]T)
		if !ok {
			return nil, fmt.Errorf("mpitest: ranks 0 and %d passed buffers of different types (%T, %T)", r, bufs[0], b)
		}
		if len(s) != len(out[0]) && r > 0 {
			return nil, fmt.Errorf("mpitest: ranks 0 and %d passed buffers of %d and %d elements", r, len(out[0]), len(s))
		}
		out[r] = s
	}
	return out, nil
}

// sum replaces every buffer by the element-wise sum over ranks, added in rank order.
func sum[T number](bufs []any, _ int) error {
	s, err := typed[T](bufs)
	if err != nil {
		return err
	}
	tot := make([]T, len(s[0]))
	for _, b := range s {
		for i, v := range b {
			tot[i] += v
		}
	}
	for _, b := range s {
		copy(b, tot)
	}
	return nil
}

// bcast copies the root's buffer into every other rank's.
func bcast[T number](bufs []any, root int) error {
	s, err := typed[T](bufs)
	if err != nil {
		return err
	}
	for r, b := range s {
		if r != root {
			copy(b, s[root])
		}
	}
	return nil
}
