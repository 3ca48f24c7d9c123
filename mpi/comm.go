package mpi

import (
	"fmt"
	"os"
)

// Comm is the group of processes (ranks) of one job. Every collective (Allreduce*, Bcast*,
// Barrier) must be called by every rank, in the same order, with buffers of the same length;
// the buffers are updated in place.
type Comm interface {
	// Rank is this process's index in [0, Size()).
	Rank() int
	// Size is the number of processes in the job.
	Size() int
	// AllreduceFloat32 replaces buf on every rank by the element-wise sum of every rank's buf.
	AllreduceFloat32(buf []float32) error
	// AllreduceFloat64 is AllreduceFloat32 for float64.
	AllreduceFloat64(buf []float64) error
	// AllreduceInt64 is AllreduceFloat32 for int64.
	AllreduceInt64(buf []int64) error
	// BcastFloat32 copies root's buf into every other rank's buf.
	BcastFloat32(buf []float32, root int) error
	// BcastFloat64 is BcastFloat32 for float64.
	BcastFloat64(buf []float64, root int) error
	// BcastInt64 is BcastFloat32 for int64.
	BcastInt64(buf []int64, root int) error
	// Barrier returns once every rank has entered it.
	Barrier() error
	// Abort ends every process of the job with the exit code; it does not return. Print the
	// reason before calling it.
	Abort(code int)
}

// Self is the job of this process alone: rank 0 of 1. Its collectives leave the buffers as
// they are (the sum over one rank is the rank's own value) and Abort exits the process.
func Self() Comm { return self{} }

type self struct{}

func (self) Rank() int                             { return 0 }
func (self) Size() int                             { return 1 }
func (self) AllreduceFloat32([]float32) error      { return nil }
func (self) AllreduceFloat64([]float64) error      { return nil }
func (self) AllreduceInt64([]int64) error          { return nil }
func (self) BcastFloat32(_ []float32, r int) error { checkRoot(r, 1); return nil }
func (self) BcastFloat64(_ []float64, r int) error { checkRoot(r, 1); return nil }
func (self) BcastInt64(_ []int64, r int) error     { checkRoot(r, 1); return nil }
func (self) Barrier() error                        { return nil }
func (self) Abort(code int)                        { os.Exit(code) }

// checkRoot panics on a root outside [0, size): a programmer error.
func checkRoot(root, size int) {
	if root < 0 || root >= size {
		panic(fmt.Sprintf("mpi: broadcast root %d outside [0, %d)", root, size))
	}
}

// IsRoot reports whether c is nil (this process alone) or c is rank 0: the rank that reads
// checkpoints and writes files.
func IsRoot(c Comm) bool { return c == nil || c.Rank() == 0 }
