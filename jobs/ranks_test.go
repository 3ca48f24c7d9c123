package jobs

import (
	"errors"
	"testing"

	"github.com/moslora/moslora/mpi"
)

// Alone (no MPI launcher), a failing job is an ordinary error: OnRanks neither reports it as a
// rank's failure nor aborts (which would end this test binary).
func TestOnRanksAloneReturnsTheJobsErrorWithoutAborting(t *testing.T) {
	if mpi.LaunchedSize() != 0 {
		t.Skip("started by an MPI launcher; this test is about a process alone")
	}
	boom := errors.New("boom")
	size := 0
	err := OnRanks(func(c mpi.Comm) error {
		size = c.Size()
		return boom
	}, func(mpi.Comm, error) { t.Error("failed was called for a process alone") })
	if !errors.Is(err, boom) {
		t.Errorf("OnRanks returned %v, want the job's error", err)
	}
	if size != 1 {
		t.Errorf("the job ran on a communicator of %d ranks, want 1", size)
	}
}
