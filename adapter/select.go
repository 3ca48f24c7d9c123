package adapter

import (
	"sort"
	"strings"

	"github.com/moslora/moslora/model"
)

// Selected returns the linear layers of m that c adapts, in the model's order, without building
// the adapter (so that ranks and memory can be checked first). Its errors are New's.
func (c *Config) Selected(m Base) ([]*model.Linear, error) {
	lins := m.Linears()
	paths := make([]string, len(lins))
	for i, l := range lins {
		paths[i] = l.Path
	}
	sel, err := c.selectPaths(paths)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Linear, 0, len(sel))
	i := 0
	for _, l := range lins {
		if i < len(sel) && l.Path == sel[i] {
			out = append(out, l)
			i++
		}
	}
	return out, nil
}

// leafNames lists the distinct last components of module paths (q_proj, c_attn, …), sorted, for
// messages that tell the user what a model's linear layers are called.
func leafNames(paths []string) string {
	seen := map[string]bool{}
	var names []string
	for _, p := range paths {
		if n := lastComponent(p); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
