//go:build mpi

package mpi_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moslora/moslora/mpi"
	"github.com/moslora/moslora/mpi/mpitest"
)

// workerVar, when set, makes the test binary act as one rank of a job that a test started with
// mpirun (see worker); its value names the job.
const workerVar = "MOSLORA_MPI_TEST_WORKER"

func TestMain(m *testing.M) {
	if job := os.Getenv(workerVar); job != "" {
		os.Exit(worker(job))
	}
	os.Exit(m.Run())
}

// worker runs one rank of a test job and returns its exit code.
func worker(job string) int {
	c, err := mpi.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch job {
	case "conformance":
		err = mpitest.Conformance(c)
		if err == nil {
			mpi.SetChunk(7) // the same checks with every buffer cut into 7-element MPI calls
			err = mpitest.Conformance(c)
		}
	case "abort":
		if c.Rank() == 1 {
			time.Sleep(200 * time.Millisecond)
			fmt.Fprintln(os.Stderr, "rank 1: failing on purpose")
			c.Abort(7)
		}
		err = c.Barrier() // rank 0 waits here for a rank that never comes
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", c.Rank(), err)
		c.Abort(3)
	}
	if err := mpi.Finalize(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	return 0
}

func mpirun(t *testing.T, np int, job string) (string, error) {
	t.Helper()
	cmd, err := mpitest.Mpirun(np, []string{workerVar + "=" + job}, os.Args[0])
	if err != nil {
		t.Skip(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func TestMPIOpenMPIPassesConformance(t *testing.T) {
	for _, np := range []int{1, 3} {
		if out, err := mpirun(t, np, "conformance"); err != nil {
			t.Fatalf("mpirun -np %d: %v\n%s", np, err, out)
		}
	}
}

func TestMPIAbortEndsEveryRankWithItsCode(t *testing.T) {
	start := time.Now()
	out, err := mpirun(t, 2, "abort")
	if err == nil {
		t.Fatalf("the job succeeded although rank 1 aborted:\n%s", out)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the job took %s to end after rank 1 aborted", d)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("mpirun ended with %v, want exit code 7 (rank 1's Abort code)", err)
	}
	if !strings.Contains(out, "rank 1: failing on purpose") {
		t.Errorf("the output lacks rank 1's message:\n%s", out)
	}
}
