//go:build !mpi

package mpi

import "fmt"

// Built reports whether this binary was built with MPI (-tags mpi).
const Built = false

// Init returns the job this process belongs to. Without the mpi build tag that is Self; a
// process that an MPI launcher started as one of several ranks gets an error instead, since
// each rank would otherwise train alone and write the same files.
func Init() (Comm, error) {
	if n := LaunchedSize(); n > 1 || n < 0 {
		return nil, fmt.Errorf("mpi: this process was started by an MPI launcher (mpirun or srun) as one of several ranks, but this moslora was built without MPI; build it with CGO_ENABLED=1 go build -tags mpi ./cmd/moslora")
	}
	return Self(), nil
}

// Finalize ends MPI use; without the mpi build tag there is nothing to end.
func Finalize() error { return nil }
