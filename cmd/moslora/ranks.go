package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/moslora/moslora/mpi"
	"github.com/moslora/moslora/train"
	"github.com/spf13/cobra"
)

// ranksHelp is the paragraph the help of commands that run over MPI ranks ends with.
const ranksHelp = `
Started by mpirun or srun (a binary built with CGO_ENABLED=1 go build -tags mpi), every rank runs
this command with the same flags and files and the work is split over the ranks; rank 0 alone
prints and writes files. Threads per rank: GOMAXPROCS (see README, "Past one machine").`

// withRanks runs a command as one rank of an MPI job when an MPI launcher started it (else as
// this process alone): it hands run the job's communicator, silences the output of ranks other
// than 0, and when run fails on a rank ends the whole job with MPI_Abort after printing the
// error with the rank's number, so no rank waits forever for one that stopped.
func withRanks(run func(cmd *cobra.Command, c mpi.Comm) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		c, err := mpi.Init()
		if err != nil {
			return err
		}
		if c.Size() == 1 { // alone, or the only rank of a job (then MPI must still be finalised)
			err := run(cmd, c)
			if ferr := mpi.Finalize(); err == nil {
				err = ferr
			}
			return err
		}
		if c.Rank() != 0 {
			cmd.SetOut(io.Discard)
		}
		err = run(cmd, c)
		if err != nil && !errors.Is(err, train.ErrInterrupted) { // an interruption stops every rank together
			fmt.Fprintf(os.Stderr, "moslora: rank %d of %d: %v\n", c.Rank(), c.Size(), err)
			c.Abort(1)
		}
		if ferr := mpi.Finalize(); err == nil {
			err = ferr
		}
		if err != nil && c.Rank() != 0 {
			os.Exit(1) // rank 0 prints the error
		}
		return err
	}
}
