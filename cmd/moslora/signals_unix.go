//go:build unix

package main

import (
	"os"
	"syscall"
)

// stopSignals end training at the next update with a checkpoint: Ctrl-C, SIGTERM (kill, docker
// stop, Kubernetes, Slurm), and SIGUSR1, which
// mpirun forwards to every rank (it ends the ranks at once on SIGINT) and Slurm sends with
// `scancel --signal=USR1`.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGUSR1}
