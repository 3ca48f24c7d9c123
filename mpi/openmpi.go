//go:build mpi

package mpi

/*
#cgo pkg-config: ompi-c
#include <mpi.h>

// MPI_COMM_WORLD and the datatypes are macros over Open MPI's globals, which cgo cannot name:
// these wrappers spell them in C.
static MPI_Datatype mo_type(int kind) {
	switch (kind) {
	case 0: return MPI_FLOAT;
	case 1: return MPI_DOUBLE;
	default: return MPI_INT64_T;
	}
}
static int mo_init(int *provided) {
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (rc == MPI_SUCCESS) MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	return rc;
}
static int mo_initialized(void) { int f = 0; MPI_Initialized(&f); return f; }
static int mo_finalized(void) { int f = 0; MPI_Finalized(&f); return f; }
static int mo_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int mo_size(int *n) { return MPI_Comm_size(MPI_COMM_WORLD, n); }
static int mo_allreduce(void *buf, int n, int kind) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, mo_type(kind), MPI_SUM, MPI_COMM_WORLD);
}
static int mo_bcast(void *buf, int n, int kind, int root) {
	return MPI_Bcast(buf, n, mo_type(kind), root, MPI_COMM_WORLD);
}
static int mo_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static void mo_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static int mo_finalize(void) { return MPI_Finalize(); }
static void mo_error_string(int code, char *s) {
	int n = 0;
	MPI_Error_string(code, s, &n);
	s[n < MPI_MAX_ERROR_STRING ? n : MPI_MAX_ERROR_STRING - 1] = 0;
}
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// Built reports whether this binary was built with MPI (-tags mpi).
const Built = true

// kinds passed to the C wrappers (mo_type).
const (
	kindFloat32 = 0
	kindFloat64 = 1
	kindInt64   = 2
)

// chunk is the most elements one MPI call moves: MPI counts are C ints, so longer buffers
// (a 7B model's full gradient) go in pieces. A variable so that tests can exercise the loop.
var chunk = 1 << 30

// world is MPI_COMM_WORLD. MPI is initialised with MPI_THREAD_SERIALIZED: any goroutine (and so
// any OS thread) may call it, one call at a time, which mu enforces.
type world struct {
	mu         sync.Mutex
	rank, size int
}

var (
	initOnce sync.Once
	theWorld *world
	initErr  error
)

// Init returns the job this process belongs to. A process that no MPI launcher started gets
// Self, without initialising MPI, so the MPI build runs single-process commands unchanged;
// otherwise MPI is initialised (once) and the result is MPI_COMM_WORLD.
func Init() (Comm, error) {
	if LaunchedSize() == 0 {
		return Self(), nil
	}
	initOnce.Do(func() {
		// Wait for collectives by yielding the CPU, not spinning on it: moslora's collectives are
		// a few per update, far apart, and a rank that spins while another rank on the same node
		// still computes takes a core from it. A value the user set wins.
		if _, ok := os.LookupEnv("OMPI_MCA_mpi_yield_when_idle"); !ok {
			os.Setenv("OMPI_MCA_mpi_yield_when_idle", "1")
		}
		var provided C.int
		if rc := C.mo_init(&provided); rc != C.MPI_SUCCESS {
			initErr = fmt.Errorf("mpi: MPI_Init_thread failed: %s", errorString(rc))
			return
		}
		if provided < C.MPI_THREAD_SERIALIZED {
			initErr = fmt.Errorf("mpi: the MPI library offers thread level %d; moslora needs MPI_THREAD_SERIALIZED (%d)", int(provided), int(C.MPI_THREAD_SERIALIZED))
			return
		}
		var r, n C.int
		if rc := C.mo_rank(&r); rc != C.MPI_SUCCESS {
			initErr = fmt.Errorf("mpi: MPI_Comm_rank: %s", errorString(rc))
			return
		}
		if rc := C.mo_size(&n); rc != C.MPI_SUCCESS {
			initErr = fmt.Errorf("mpi: MPI_Comm_size: %s", errorString(rc))
			return
		}
		theWorld = &world{rank: int(r), size: int(n)}
	})
	if initErr != nil {
		return nil, initErr
	}
	return theWorld, nil
}

// Finalize ends MPI use (MPI_Finalize) once every rank calls it; a no-op when MPI was never
// initialised or is already finalised.
func Finalize() error {
	if C.mo_initialized() == 0 || C.mo_finalized() != 0 {
		return nil
	}
	if rc := C.mo_finalize(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("mpi: MPI_Finalize: %s", errorString(rc))
	}
	return nil
}

func errorString(rc C.int) string {
	var buf [C.MPI_MAX_ERROR_STRING]C.char
	C.mo_error_string(rc, &buf[0])
	return C.GoString(&buf[0])
}

func (w *world) Rank() int { return w.rank }
func (w *world) Size() int { return w.size }

func (w *world) AllreduceFloat32(buf []float32) error {
	return w.each(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 4, func(p unsafe.Pointer, n int) C.int {
		return C.mo_allreduce(p, C.int(n), kindFloat32)
	}, "MPI_Allreduce")
}

func (w *world) AllreduceFloat64(buf []float64) error {
	return w.each(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 8, func(p unsafe.Pointer, n int) C.int {
		return C.mo_allreduce(p, C.int(n), kindFloat64)
	}, "MPI_Allreduce")
}

func (w *world) AllreduceInt64(buf []int64) error {
	return w.each(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 8, func(p unsafe.Pointer, n int) C.int {
		return C.mo_allreduce(p, C.int(n), kindInt64)
	}, "MPI_Allreduce")
}

func (w *world) BcastFloat32(buf []float32, root int) error {
	checkRoot(root, w.size)
	return w.each(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 4, func(p unsafe.Pointer, n int) C.int {
		return C.mo_bcast(p, C.int(n), kindFloat32, C.int(root))
	}, "MPI_Bcast")
}

func (w *world) BcastFloat64(buf []float64, root int) error {
	checkRoot(root, w.size)
	return w.each(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 8, func(p unsafe.Pointer, n int) C.int {
		return C.mo_bcast(p, C.int(n), kindFloat64, C.int(root))
	}, "MPI_Bcast")
}

func (w *world) BcastInt64(buf []int64, root int) error {
	checkRoot(root, w.size)
	return w.each(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 8, func(p unsafe.Pointer, n int) C.int {
		return C.mo_bcast(p, C.int(n), kindInt64, C.int(root))
	}, "MPI_Bcast")
}

func (w *world) Barrier() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rc := C.mo_barrier(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("mpi: rank %d: MPI_Barrier: %s", w.rank, errorString(rc))
	}
	return nil
}

func (w *world) Abort(code int) {
	C.mo_abort(C.int(code))
	os.Exit(code) // MPI_Abort does not return; this is in case an implementation does
}

// each runs call over buf (n elements of size bytes) in pieces of at most chunk elements. The
// buffers hold no Go pointers, so passing them to C is allowed; every rank cuts the same
// pieces, so the calls pair up.
func (w *world) each(base unsafe.Pointer, n, size int, call func(p unsafe.Pointer, n int) C.int, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for off := 0; off < n; off += chunk {
		k := min(chunk, n-off)
		if rc := call(unsafe.Add(base, off*size), k); rc != C.MPI_SUCCESS {
			return fmt.Errorf("mpi: rank %d: %s of %d elements: %s", w.rank, name, n, errorString(rc))
		}
	}
	return nil
}
