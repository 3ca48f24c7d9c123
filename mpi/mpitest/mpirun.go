package mpitest

import (
	"fmt"
	"os/exec"
	"strconv"
)

// Mpirun returns the command that starts np copies of prog with Open MPI's mpirun on this
// machine, with env (NAME=value) exported to every rank, or an error when mpirun is not
// installed (tests skip on it). It allows running as root (CI runs as root), more ranks than
// cores (--oversubscribe) and no CPU binding (so GOMAXPROCS decides threads per rank), and
// turns off the shared-memory single-copy mechanism that containers often forbid.
func Mpirun(np int, env []string, prog string, args ...string) (*exec.Cmd, error) {
	path, err := exec.LookPath("mpirun")
	if err != nil {
		return nil, fmt.Errorf("mpirun not found on PATH (install Debian's openmpi-bin libopenmpi-dev): %w", err)
	}
	a := []string{"--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", strconv.Itoa(np),
		"--mca", "btl_vader_single_copy_mechanism", "none"}
	for _, e := range env {
		a = append(a, "-x", e)
	}
	a = append(a, prog)
	return exec.Command(path, append(a, args...)...), nil
}
