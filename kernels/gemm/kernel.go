package gemm

import (
	"fmt"
	"unsafe"
)

// Register tile of the micro-kernel: MR rows of A times NR columns of B.
const (
	MR = 6
	NR = 16
)

// kernelFunc accumulates one MR×NR tile of C over kc steps of k and writes it back:
//
//	C[r*ldc+j] = alpha · Σ_p A(r, p)·B(p, j) + beta · C[r*ldc+j]    r < MR, j < NR, p < kc
//	A(r, p) = a[r*rsa + p*csa]   (packed panel: rsa = 1, csa = MR; in place: the operand's strides)
//	B(p, j) = b[p*rsb + j]       (packed panel: rsb = NR; in place: ldb of an untransposed B)
//
// beta == 0 overwrites C without reading it. All MR×NR elements of A, B and C are touched: the
// caller pads edge panels with zeros and routes edge tiles of C through a scratch tile.
type kernelFunc func(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)

// namedKernel is a micro-kernel the running CPU supports.
type namedKernel struct {
	name   string
	k      kernelFunc // any strides
	packed kernelFunc // a faster variant for packed panels (rsa = 1, csa = MR, rsb = NR), or nil
	dot4   dot4Func   // kernels of the small-m path (small.go)
	axpy32 axpy32Func
}

// kernels lists the supported micro-kernels, slowest first; init functions of the assembly files
// append theirs and the last one becomes the default.
var kernels = []namedKernel{{name: "go", k: kernelGo, dot4: dot4Go, axpy32: axpy32Go}}

func useKernel(cfg *config, nk namedKernel) {
	cfg.name, cfg.kernel, cfg.packed = nk.name, nk.k, nk.packed
	cfg.dot4, cfg.axpy32 = nk.dot4, nk.axpy32
}

// Kernels names the micro-kernels this build can run on this CPU, slowest first: "go" (portable),
// then "avx2" and "avx512" on amd64 CPUs that have them (not with the purego build tag).
func Kernels() []string {
	out := make([]string, len(kernels))
	for i, nk := range kernels {
		out[i] = nk.name
	}
	return out
}

// KernelName names the micro-kernel Sgemm uses now (the last of Kernels unless SetKernel chose).
func KernelName() string { return activeConfig().name }

// SetKernel makes Sgemm and SgemmBF16B use the named micro-kernel, e.g. to compare "avx2" with a
// library restricted to AVX2. Safe to call concurrently with products (each call uses one kernel
// throughout). It returns an error naming the supported kernels if name is not one of them.
func SetKernel(name string) error {
	for _, nk := range kernels {
		if nk.name == name {
			cfg := defaultConfig
			useKernel(&cfg, nk)
			active.Store(&cfg)
			return nil
		}
	}
	return fmt.Errorf("gemm: micro-kernel %q not available on this CPU/build (have %v)", name, Kernels())
}

// kernelGo is the portable micro-kernel (scalar: the Go compiler does not vectorise, so about
// 5 GFLOP/s). It walks the tile in 2×4 strips, eight accumulators that mostly stay in registers,
// and reads the panels through unsafe offsets (no bounds checks in the loop; the driver guarantees
// every offset lies inside the operands).
func kernelGo(kc int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32) {
	var acc [MR][NR]float32 // the tile before scaling
	pa, pb := unsafe.Pointer(a), unsafe.Pointer(b)
	ra, ca, rb := uintptr(rsa)*4, uintptr(csa)*4, uintptr(rsb)*4
	for i := 0; i < MR; i += 2 {
		for j := 0; j < NR; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			oa, ob := uintptr(i)*ra, uintptr(j)*4
			for p := 0; p < kc; p++ {
				b0 := *(*float32)(unsafe.Add(pb, ob))
				b1 := *(*float32)(unsafe.Add(pb, ob+4))
				b2 := *(*float32)(unsafe.Add(pb, ob+8))
				b3 := *(*float32)(unsafe.Add(pb, ob+12))
				a0 := *(*float32)(unsafe.Add(pa, oa))
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				a1 := *(*float32)(unsafe.Add(pa, oa+ra))
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				oa += ca
				ob += rb
			}
			acc[i][j], acc[i][j+1], acc[i][j+2], acc[i][j+3] = c00, c01, c02, c03
			acc[i+1][j], acc[i+1][j+1], acc[i+1][j+2], acc[i+1][j+3] = c10, c11, c12, c13
		}
	}
	cs := unsafe.Slice(c, (MR-1)*ldc+NR)
	for r := 0; r < MR; r++ {
		row := cs[r*ldc : r*ldc+NR : r*ldc+NR]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * acc[r][j]
			}
		} else {
			for j := range row {
				row[j] = alpha*acc[r][j] + beta*row[j]
			}
		}
	}
}
