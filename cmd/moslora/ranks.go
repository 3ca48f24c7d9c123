package main

import (
	"fmt"
	"io"
	"os"

	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/mpi"
	"github.com/spf13/cobra"
)

// ranksHelp is the paragraph the help of commands that run over MPI ranks ends with.
const ranksHelp = `
Started by mpirun or srun (a binary built with CGO_ENABLED=1 go build -tags mpi), every rank runs
this command with the same flags and files and the work is split over the ranks; rank 0 alone
prints and writes files. Threads per rank: GOMAXPROCS (see README, "Past one machine").`

// withRanks runs a command as one rank of an MPI job (jobs.OnRanks): ranks other than 0 print
// nothing on stdout; a rank that fails prints its error with its number before the job is ended;
// a rank other than 0 that stops with an error (an interruption, which rank 0 reports) exits 1
// silently.
func withRanks(run func(cmd *cobra.Command, c mpi.Comm) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		rank := 0
		err := jobs.OnRanks(func(c mpi.Comm) error {
			if rank = c.Rank(); rank != 0 {
				cmd.SetOut(io.Discard)
			}
			return run(cmd, c)
		}, func(c mpi.Comm, err error) {
			fmt.Fprintf(os.Stderr, "moslora: rank %d of %d: %v\n", c.Rank(), c.Size(), err)
		})
		if err != nil && rank != 0 {
			os.Exit(1)
		}
		return err
	}
}
