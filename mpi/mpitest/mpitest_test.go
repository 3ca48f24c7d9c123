package mpitest

import (
	"errors"
	"strings"
	"testing"

	"github.com/moslora/moslora/mpi"
)

func TestInProcessRanksPassConformance(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		for r, err := range Run(n, Conformance) {
			if err != nil {
				t.Errorf("%d ranks, rank %d: %v", n, r, err)
			}
		}
	}
}

func TestSelfPassesConformance(t *testing.T) {
	if err := Conformance(mpi.Self()); err != nil {
		t.Fatal(err)
	}
}

func TestMismatchedLengthsFailOnEveryRank(t *testing.T) {
	errs := Run(2, func(c mpi.Comm) error {
		return c.AllreduceFloat32(make([]float32, 3+c.Rank()))
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "3 and 4 elements") {
			t.Errorf("rank %d: got %v, want an error naming 3 and 4 elements", r, err)
		}
	}
}

func TestAbortReleasesWaitingRanks(t *testing.T) {
	var comms []mpi.Comm
	errs := Run(3, func(c mpi.Comm) error {
		if c.Rank() == 0 {
			comms = append(comms, c)
		}
		if c.Rank() == 1 {
			c.Abort(7)
		}
		return c.Barrier()
	})
	if errs[0] == nil || errs[2] == nil || !strings.Contains(errs[0].Error(), "rank 1 aborted") {
		t.Fatalf("errors %v: ranks 0 and 2 should learn that rank 1 aborted", errs)
	}
	if who, code := Aborted(comms[0]); who != 1 || code != 7 {
		t.Fatalf("Aborted = rank %d code %d, want 1 and 7", who, code)
	}
	if errs[1] != nil {
		t.Fatalf("rank 1 returned %v after Abort, which must not return", errs[1])
	}
}

func TestAllreduceSumsInRankOrder(t *testing.T) {
	// 1e8 + 1 - 1e8 in float32: rank order gives (1e8 + 1) - 1e8 = 0 (1e8 + 1 rounds to 1e8);
	// any other order of the three values that adds 1 last gives 1.
	vals := []float32{1e8, 1, -1e8}
	errs := Run(3, func(c mpi.Comm) error {
		b := []float32{vals[c.Rank()]}
		if err := c.AllreduceFloat32(b); err != nil {
			return err
		}
		if b[0] != 0 {
			return errors.New("sum is not (v0 + v1) + v2")
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}
