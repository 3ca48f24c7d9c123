package sweep

import (
	"path/filepath"

	"github.com/moslora/moslora/eval"
)

// Groups collects the finished cells of the grid by group (variants and axis values in grid
// order), each run with its seed, ready for eval.Compare: the first group is the reference.
// Unfinished cells are left out.
func Groups(g *Grid, out string) ([]*eval.Group, error) {
	var groups []*eval.Group
	index := map[string]*eval.Group{}
	for _, c := range g.Cells() {
		p := filepath.Join(out, RunsDir, c.Name, "eval.json")
		r, err := eval.ReadReport(p)
		if err != nil {
			continue
		}
		grp := index[c.Group]
		if grp == nil {
			grp = &eval.Group{Name: c.Group}
			index[c.Group] = grp
			groups = append(groups, grp)
		}
		seed := c.Seed
		grp.Runs = append(grp.Runs, eval.Run{Source: p, Report: r, Seed: &seed})
	}
	return groups, nil
}
