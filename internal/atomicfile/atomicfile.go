package atomicfile

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically with permission bits perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// Write writes path atomically with permission bits perm from what fill writes into w, a
// buffered writer on the temporary file. fill may ignore w's write errors: bufio.Writer keeps the
// first one, and Write reports it when it flushes w.
func Write(path string, perm fs.FileMode, fill func(w *bufio.Writer) error) error {
	return write(path, perm, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if err := fill(w); err != nil {
			return err
		}
		return w.Flush()
	})
}

// write creates the temporary file beside path, lets fill write it, then sets perm, syncs,
// closes and renames it over path.
func write(path string, perm fs.FileMode, fill func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close() // may already be closed; the first error is the one reported
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable where the platform allows (best effort: not every
// platform can sync a folder).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
