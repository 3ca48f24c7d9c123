package within

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDirTellsInsideFromBeside(t *testing.T) {
	root := t.TempDir()
	model := filepath.Join(root, "model")
	os.Mkdir(model, 0o755)
	link := filepath.Join(root, "link")
	if err := os.Symlink(model, link); err != nil {
		t.Skip(err)
	}
	for _, c := range []struct {
		path string
		want bool
	}{
		{model, true}, {model + "/", true}, {filepath.Join(model, "out"), true}, {filepath.Join(model, "new", "deeper"), true},
		{filepath.Join(link, "out"), true}, {link, true},
		{model + "-merged", false}, {root, false}, {filepath.Join(root, "other"), false},
	} {
		if got := Dir(c.path, model); got != c.want {
			t.Errorf("Dir(%s, %s) = %v, want %v", c.path, model, got, c.want)
		}
	}
}
