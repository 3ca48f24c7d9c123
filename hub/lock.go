package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// fileLock is an exclusive lock on a file, held across processes. On Unix it is flock(2), the
// lock Python's filelock (and so huggingface_hub) takes, so a moslora and a Python download of
// the same blob wait for each other. The operating system drops it when the process dies.
type fileLock struct{ f *os.File }

// acquireLock creates path if needed and waits until it holds the lock on it or ctx ends.
func acquireLock(ctx context.Context, path string) (*fileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hub: lock %s: %w", path, err)
	}
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("hub: lock %s: %w", path, err)
		}
		if ok {
			return &fileLock{f}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("hub: waiting for %s (another download of the same file): %w", path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// release drops the lock. The lock file stays, as huggingface_hub leaves it: deleting it would
// let a waiter lock a file that a newcomer then recreates.
func (l *fileLock) release() {
	unlock(l.f)
	l.f.Close()
}
