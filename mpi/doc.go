// Package mpi is the few collective operations that data-parallel training and evaluation need
// from an MPI job — rank and size, all-reduce (sum) of float32/float64/int64 buffers, broadcast,
// barrier and abort — behind one small interface, Comm.
//
// Two implementations sit behind it. The default build (pure Go, CGO_ENABLED=0) has only Self:
// this process alone, rank 0 of 1, whose collectives leave buffers as they are. Built with
// `-tags mpi` (CGO_ENABLED=1, Open MPI's headers and libmpi found by pkg-config as ompi-c; on
// Debian: apt-get install openmpi-bin libopenmpi-dev), Init returns MPI_COMM_WORLD through a cgo
// binding of ten MPI calls (openmpi.go). Package mpitest adds in-process ranks (goroutines) and
// the conformance checks that both pass.
//
// Why our own binding (checked 2026-12-05): the Go MPI bindings we found are either packages
// without releases (github.com/yoo/go-mpi, its forks JohannWeging/go-mpi and renyuneyun/go-mpi)
// or part of a much larger module (github.com/cpmech/gosl's mpi; cogentcore.org/lab/base/mpi,
// copied from it, with generated code for every Go type), and the module proxy this project
// builds against serves none of them (403 for each). What we need is a dozen C calls and no MPI
// object model (communicators, requests, derived datatypes), so the binding is one file of
// wrappers, tested by launching mpirun from the tests (-tags mpi).
//
// # Running a job
//
// Build the MPI binary on (or for) every node, and give every rank the same command line, model
// folder and data files (same paths; a shared file system is not needed, since only rank 0
// reads checkpoints and writes outputs):
//
//	CGO_ENABLED=1 go build -tags mpi -o moslora ./cmd/moslora
//	mpirun -np 4 ./moslora train --model M --data D --out runs/x            # one machine
//	mpirun -H host1,host2 -np 2 ./moslora train …                            # two machines
//	srun --mpi=pmix -N 4 --ntasks-per-node=1 --cpus-per-task=32 ./moslora train …   # Slurm
//
// Open MPI refuses to run as root unless told: add --allow-run-as-root (or set
// OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1). In containers that forbid
// cross-process memory access add --mca btl_vader_single_copy_mechanism none.
//
// Threads per rank: each rank's Go runtime uses GOMAXPROCS threads, which by default is the
// number of CPUs the rank may run on. Open MPI binds each rank to one core when there are at
// most two ranks and to a socket otherwise, so say what you want: one rank per node using all
// its cores (`mpirun --map-by ppr:1:node --bind-to none`, or Slurm's --cpus-per-task), or k
// threads per rank (`--map-by slot:PE=k`, or `-x GOMAXPROCS=k --bind-to none`). One rank per
// node with all cores is usually best: the model's GEMMs use the threads, and fewer ranks send
// less (each all-reduce costs about 2·S/bandwidth whatever the rank count).
//
// Stopping: mpirun ends the ranks at once on Ctrl-C (SIGINT); `moslora train` also stops with a
// checkpoint on SIGUSR1, which mpirun forwards to every rank (kill -USR1 <mpirun pid>; Slurm:
// scancel --signal=USR1 JOBID); every rank stops at the same update, and --resume continues.
//
// A binary built without the tag that an MPI launcher starts as one of several ranks refuses to
// run (Init's error), rather than let every rank train alone and write the same files.
//
// # Invariants
//
//   - Init initialises MPI only in a process that an MPI launcher started (LaunchedSize ≠ 0);
//     any other process gets Self, so the MPI build runs every command unchanged without mpirun.
//   - Collectives are called by every rank in the same order with buffers of the same length;
//     Open MPI's calls are serialised (MPI_THREAD_SERIALIZED, one at a time under a mutex), so
//     any goroutine may call them. Buffers of more than 2³⁰ elements go in 2³⁰-element pieces.
//   - Open MPI waits in collectives by yielding the CPU (mpi_yield_when_idle 1, unless the
//     environment sets OMPI_MCA_mpi_yield_when_idle): collectives are a few per update, and a
//     spinning rank would take a core from a rank on the same node that is still computing.
//   - Errors from MPI are returned (MPI_ERRORS_RETURN), naming the rank and the call; a rank that
//     cannot continue calls Abort, which ends every rank of the job (MPI_Abort) with its code.
//
// Users: train (data-parallel updates) and eval (rows split over ranks), through Job.Comm and
// Options.Comm; the CLI's train and eval commands. Sweeps over MPI (grid cells handed to ranks)
// are not here yet: the sweep command is being written separately and can take the same Comm.
package mpi
