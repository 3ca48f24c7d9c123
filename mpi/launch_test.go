package mpi

import (
	"os"
	"testing"
)

func TestLaunchedSizeReadsEachLauncher(t *testing.T) {
	unsetAll(t)
	if n := LaunchedSize(); n != 0 {
		t.Fatalf("no launcher: LaunchedSize = %d, want 0", n)
	}
	for _, c := range []struct {
		name, value string
		want        int
	}{{"OMPI_COMM_WORLD_SIZE", "4", 4}, {"PMI_SIZE", "3", 3}, {"SLURM_STEP_NUM_TASKS", "2", 2}, {"PMIX_RANK", "0", -1}} {
		t.Run(c.name, func(t *testing.T) {
			unsetAll(t)
			t.Setenv(c.name, c.value)
			if n := LaunchedSize(); n != c.want {
				t.Errorf("%s=%s: LaunchedSize = %d, want %d", c.name, c.value, n, c.want)
			}
		})
	}
}

func TestSelfIsRankZeroOfOne(t *testing.T) {
	c := Self()
	if c.Rank() != 0 || c.Size() != 1 || !IsRoot(c) || !IsRoot(nil) {
		t.Fatalf("Self: rank %d of %d", c.Rank(), c.Size())
	}
	buf := []float32{1.5, -2}
	if err := c.AllreduceFloat32(buf); err != nil || buf[0] != 1.5 || buf[1] != -2 {
		t.Fatalf("Self's allreduce changed its one rank's values: %v %v", buf, err)
	}
}

// unsetAll removes every launcher variable for the rest of the test (restored afterwards).
func unsetAll(t *testing.T) {
	for _, v := range append(append([]string{}, launchVars...), rankVars...) {
		if old, ok := os.LookupEnv(v); ok {
			t.Cleanup(func() { os.Setenv(v, old) })
		}
		os.Unsetenv(v)
	}
}
