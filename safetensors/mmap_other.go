//go:build !unix

package safetensors

import (
	"errors"
	"os"
)

// mmapFile is not implemented on this platform: Open falls back to reading with ReadAt.
func mmapFile(fh *os.File, size int64) ([]byte, error) {
	return nil, errors.New("safetensors: memory mapping is not supported on this platform")
}

// munmap is never called on this platform.
func munmap(b []byte) error { return nil }
