package hub

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLockExcludesASecondHolderUntilReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".locks", "models--a--b", "etag.lock")
	first, err := acquireLock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := acquireLock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second acquire while held: %v; want it to wait until the deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := acquireLock(context.Background(), path)
		if err == nil {
			l.release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("acquired while held (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	first.release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the lock after release")
	}
}
