package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// checkDest returns an error when dest exists and force is not set.
func checkDest(dest string, force bool) error {
	if dest == "" {
		return fmt.Errorf("export: no output path given")
	}
	_, err := os.Lstat(dest)
	switch {
	case err == nil && !force:
		return fmt.Errorf("export: %s already exists (use --force to replace it)", dest)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// writeDir builds a folder at dest: fill writes into a fresh temporary folder beside dest, which
// is renamed to dest only when fill succeeds (an existing dest, allowed by force, is moved aside
// first and removed after). On any error the temporary folder is removed and dest is untouched.
func writeDir(dest string, force bool, fill func(tmp string) error) error {
	if err := checkDest(dest, force); err != nil {
		return err
	}
	dest = filepath.Clean(dest)
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dest)+".tmp*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("export: %w", err)
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return replace(tmp, dest, force)
}

// writeFile writes a single file at dest through a temporary file beside it.
func writeFile(dest string, force bool, data []byte) error {
	return writeFileFunc(dest, force, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileFunc writes a single file at dest: fill streams the content into a temporary file
// beside dest (buffered), which is synced and renamed to dest only when fill succeeds. On any
// error the temporary file is removed and dest is untouched.
func writeFileFunc(dest string, force bool, fill func(w io.Writer) error) error {
	if err := checkDest(dest, force); err != nil {
		return err
	}
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	f, err := os.CreateTemp(parent, "."+filepath.Base(dest)+".tmp*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tmp := f.Name()
	bw := bufio.NewWriterSize(f, 1<<20)
	werr := fill(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("export: writing %s: %w", dest, werr)
	}
	return replace(tmp, dest, force)
}

// replace renames the finished tmp onto dest. With force an existing dest is first moved aside
// and removed once tmp is in place (restored if the rename fails).
func replace(tmp, dest string, force bool) error {
	var aside string
	if _, err := os.Lstat(dest); err == nil {
		if !force { // appeared while we were writing
			os.RemoveAll(tmp)
			return fmt.Errorf("export: %s already exists (use --force to replace it)", dest)
		}
		aside = tmp + ".old"
		if err := os.Rename(dest, aside); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("export: moving the old %s aside: %w", dest, err)
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		if aside != "" {
			os.Rename(aside, dest)
		}
		os.RemoveAll(tmp)
		return fmt.Errorf("export: %w", err)
	}
	if aside != "" {
		if err := os.RemoveAll(aside); err != nil {
			return fmt.Errorf("export: wrote %s but could not remove the old copy %s: %w", dest, aside, err)
		}
	}
	return nil
}
