//go:build !mpi

package mpi

import (
	"strings"
	"testing"
)

func TestInitWithoutMPIRefusesToBeOneOfSeveralRanks(t *testing.T) {
	unsetAll(t)
	c, err := Init()
	if err != nil || c.Size() != 1 {
		t.Fatalf("no launcher: Init = %v, %v; want Self", c, err)
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	if _, err := Init(); err == nil || !strings.Contains(err.Error(), "-tags mpi") {
		t.Fatalf("under mpirun -np 2: Init error %v, want one that says how to build with MPI", err)
	}
}
