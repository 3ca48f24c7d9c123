// Package shared gives tests and benchmarks the project's shared reference folder (../shared
// beside the repository root: fixtures, the base model, task data), skipping with a clear message
// when it is absent. It imports testing: only _test files may import it (the shipped binary uses
// internal/sharedpath).
package shared

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/sharedpath"
)

// Root returns the absolute path of ../shared relative to the repository root, or "" when it
// cannot be found (sharedpath.Root; MOSLORA_SHARED overrides the location).
func Root() string { return sharedpath.Root() }

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
