package mpitest

import (
	"fmt"

	"github.com/moslora/moslora/mpi"
)

// Conformance runs a fixed sequence of collectives on c and checks their results; every rank of
// a job calls it, and it returns an error naming the rank and the first wrong element. It is
// the implementation-agnostic test of mpi.Comm: the in-process ranks and Open MPI pass the same
// checks. The values are integers (or exact binary fractions), so every summation order gives
// the same sums.
func Conformance(c mpi.Comm) error {
	r, n := c.Rank(), c.Size()
	if n < 1 || r < 0 || r >= n {
		return fmt.Errorf("rank %d of %d: outside [0, size)", r, n)
	}
	fail := func(what string, i int, got, want any) error {
		return fmt.Errorf("rank %d of %d: %s[%d] = %v, want %v", r, n, what, i, got, want)
	}
	tri := n * (n - 1) / 2 // Σ ranks

	// Allreduce of an odd-length float32 buffer: element i of rank q holds q·i + 0.5.
	f32 := make([]float32, 1001)
	for i := range f32 {
		f32[i] = float32(r*i) + 0.5
	}
	if err := c.AllreduceFloat32(f32); err != nil {
		return err
	}
	for i, v := range f32 {
		if want := float32(tri*i) + 0.5*float32(n); v != want {
			return fail("AllreduceFloat32", i, v, want)
		}
	}
	// float64 with values that a float32 sum would round: 2^40 + q.
	f64 := []float64{1<<40 + float64(r), float64(r), -0.25}
	if err := c.AllreduceFloat64(f64); err != nil {
		return err
	}
	for i, want := range []float64{float64(n)*(1<<40) + float64(tri), float64(tri), -0.25 * float64(n)} {
		if f64[i] != want {
			return fail("AllreduceFloat64", i, f64[i], want)
		}
	}
	// int64 beyond 2^53, where a float64 sum would round.
	i64 := []int64{1<<60 + int64(r), int64(-r)}
	if err := c.AllreduceInt64(i64); err != nil {
		return err
	}
	if want := int64(n)<<60 + int64(tri); i64[0] != want {
		return fail("AllreduceInt64", 0, i64[0], want)
	}
	if want := int64(-tri); i64[1] != want {
		return fail("AllreduceInt64", 1, i64[1], want)
	}
	// An empty buffer is a valid (no-op) collective.
	if err := c.AllreduceFloat32(nil); err != nil {
		return err
	}
	// Broadcasts from the last rank and from rank 0: every rank ends with the root's values.
	root := n - 1
	b32 := make([]float32, 517)
	for i := range b32 {
		b32[i] = float32(r*1000 + i)
	}
	if err := c.BcastFloat32(b32, root); err != nil {
		return err
	}
	for i, v := range b32 {
		if want := float32(root*1000 + i); v != want {
			return fail("BcastFloat32", i, v, want)
		}
	}
	b64 := []float64{float64(r) + 0.125, float64(r) * 3}
	bi := []int64{int64(r) - 7, 1<<62 + int64(r)}
	if err := c.BcastFloat64(b64, 0); err != nil {
		return err
	}
	if err := c.BcastInt64(bi, 0); err != nil {
		return err
	}
	for i, want := range []float64{0.125, 0} {
		if b64[i] != want {
			return fail("BcastFloat64", i, b64[i], want)
		}
	}
	for i, want := range []int64{-7, 1 << 62} {
		if bi[i] != want {
			return fail("BcastInt64", i, bi[i], want)
		}
	}
	return c.Barrier()
}
