package shared

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fatalTB records a Fatal call instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()                   {}
func (f *fatalTB) Fatal(args ...any)         { f.msg = fmt.Sprint(args...) }
func (f *fatalTB) Fatalf(s string, a ...any) { f.msg = fmt.Sprintf(s, a...) }

func TestReadJSONDecodesAndNamesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"a": [1, 2]}`), 0o644)
	os.WriteFile(bad, []byte(`{"a": `), 0o644)
	var v struct{ A []int }
	ReadJSON(t, good, &v)
	if len(v.A) != 2 || v.A[0] != 1 || v.A[1] != 2 {
		t.Errorf("decoded %+v, want A = [1 2]", v)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.json")} {
		f := &fatalTB{TB: t}
		ReadJSON(f, path, &v)
		if !strings.Contains(f.msg, path) {
			t.Errorf("ReadJSON(%s) failed with %q, want a message naming the file", path, f.msg)
		}
	}
}
