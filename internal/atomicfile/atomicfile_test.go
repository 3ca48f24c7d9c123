package atomicfile

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileReplacesContentAndSetsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	if err := os.WriteFile(path, []byte("old content, longer than the new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "new" {
		t.Errorf("content %q, want %q", b, "new")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("folder holds %v, want only a.json", names)
	}
}

func TestWriteStreamsThroughBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.bin")
	want := make([]byte, 3<<20) // larger than the buffer
	for i := range want {
		want[i] = byte(i * 7)
	}
	err := Write(path, 0o640, func(w *bufio.Writer) error {
		for i := 0; i < len(want); i += 1000 {
			w.Write(want[i:min(i+1000, len(want))])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("read back %d bytes, differing from the %d written", len(got), len(want))
	}
}

func TestFailedWriteLeavesDestinationAndNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.txt")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, 0o644, func(w *bufio.Writer) error {
		w.WriteString("partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the fill error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Errorf("destination now holds %q, want it untouched", b)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("folder holds %v after a failed write, want only c.txt", names)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "d.txt"), []byte("x"), 0o644); err == nil {
		t.Error("WriteFile into a missing folder succeeded")
	}
}
