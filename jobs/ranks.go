package jobs

import (
	"errors"

	"github.com/moslora/moslora/mpi"
	"github.com/moslora/moslora/train"
)

// OnRanks runs job as this process's rank of an MPI job when an MPI launcher started the process
// (mpi.Init), else as this process alone, and finalises MPI after it. Train and Evaluate split
// their work over the communicator job receives (TrainFiles.Comm, eval.Options.Comm).
//
// When job fails on a rank of several, OnRanks calls failed (to print the error with the rank's
// number) and then ends every rank of the job (MPI_Abort), so no rank waits forever in a
// collective for one that stopped; it does not return then. An interruption
// (train.ErrInterrupted) is not a failure: it stops every rank at the same update, and each
// returns it.
func OnRanks(job func(c mpi.Comm) error, failed func(c mpi.Comm, err error)) error {
	c, err := mpi.Init()
	if err != nil {
		return err
	}
	err = job(c)
	if err != nil && c.Size() > 1 && !errors.Is(err, train.ErrInterrupted) {
		failed(c, err)
		c.Abort(1)
	}
	if ferr := mpi.Finalize(); err == nil {
		err = ferr
	}
	return err
}
