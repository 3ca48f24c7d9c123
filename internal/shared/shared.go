// Package shared locates the project's shared reference folder (../shared beside the repository
// root: fixtures, the base model, task data) for tests and benchmarks.
package shared

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Root returns the absolute path of ../shared relative to the repository root (the folder holding
// go.mod), or "" when it cannot be found. MOSLORA_SHARED overrides the location.
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

// Path joins elem onto the shared folder, skipping the test with a clear message when the folder
// (or the requested entry) is absent. It never lets a test pass silently without its data.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	root := Root()
	if root == "" {
		tb.Skip("../shared not found beside the repository root (set MOSLORA_SHARED); skipping test that needs reference data")
	}
	p := filepath.Join(append([]string{root}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared reference data %s is absent: %v", p, err)
	}
	return p
}

// ReadJSON decodes the JSON file at path (typically a fixture under Path) into v, failing the
// test with the path when the file cannot be read or decoded.
func ReadJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err) // names the path
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}
