//go:build unix

package safetensors

import (
	"errors"
	"math"
	"os"
	"syscall"
)

// mmapFile maps the first size bytes of fh read-only and shared. The mapping stays valid after fh
// is closed. (If another process truncates the file while it is mapped, touching the lost pages
// faults: files being rewritten should be replaced by rename, as WriteFile does.)
func mmapFile(fh *os.File, size int64) ([]byte, error) {
	if size <= 0 || size > math.MaxInt {
		return nil, errors.New("safetensors: size cannot be mapped")
	}
	return syscall.Mmap(int(fh.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
}

// munmap releases a mapping made by mmapFile.
func munmap(b []byte) error { return syscall.Munmap(b) }
