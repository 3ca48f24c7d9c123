// Package within answers whether one path is a folder or lies inside it, after making both
// absolute and resolving symbolic links: the check that keeps a command from writing its output
// over the input it reads.
//
// # Invariants
//
//   - Dir(p, p) is true; a path beside dir whose name merely starts with dir's name is not inside.
package within

import (
	"path/filepath"
	"strings"
)

// Dir reports whether path is dir or lies inside it. Parts of path that do not exist yet are
// compared as written (below their deepest existing folder, which is resolved).
func Dir(path, dir string) bool {
	a, b := resolve(path), resolve(dir)
	if a == "" || b == "" {
		return false
	}
	rel, err := filepath.Rel(b, a)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve makes p absolute and resolves the symbolic links of its deepest existing ancestor.
func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return ""
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
