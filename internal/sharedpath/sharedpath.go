// Package sharedpath locates the project's shared reference folder (../shared beside the
// repository root: fixtures, the base model, task data). It imports no test code, so the shipped
// binary may use it (the bench command's defaults) — and only when asked: nothing here runs at
// start-up. Tests use internal/shared, which adds skipping helpers on top of it.
package sharedpath

import (
	"os"
	"path/filepath"
)

// Root returns the absolute path of ../shared relative to the repository root (the folder holding
// go.mod, searched upwards from the working directory), or "" when it cannot be found.
// MOSLORA_SHARED overrides the location.
func Root() string {
	if d := os.Getenv("MOSLORA_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(filepath.Dir(dir), "shared")
			if st, err := os.Stat(s); err == nil && st.IsDir() {
				return s
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
