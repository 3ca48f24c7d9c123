package mpi

import (
	"os"
	"strconv"
)

// launchVars are environment variables that MPI launchers set in every process they start,
// with the job's size: Open MPI's mpirun, MPICH's Hydra (PMI), and Slurm's srun inside a job
// step (SLURM_STEP_NUM_TASKS; SLURM_NTASKS alone is also set in the batch script itself, which
// is not a rank).
var launchVars = []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}

// rankVars mark a process started by a PMIx launcher (srun --mpi=pmix, prterun) even when no
// size variable is set.
var rankVars = []string{"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}

// LaunchedSize returns the number of ranks an MPI launcher started this process as one of: 0
// when no launcher started it, -1 when a launcher did but did not say how many.
func LaunchedSize() int {
	for _, v := range launchVars {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n > 0 {
			return n
		}
	}
	for _, v := range rankVars {
		if _, ok := os.LookupEnv(v); ok {
			return -1
		}
	}
	return 0
}
