//go:build mpi

package mpi

// SetChunk sets the most elements one MPI call moves (tests of the pieces loop).
func SetChunk(n int) { chunk = n }
