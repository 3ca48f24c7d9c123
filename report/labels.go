package report

import (
	"fmt"
	"strings"

	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/train"
)

// MethodDoc is the one-line description of a training method (the mixer table's Doc; full
// fine-tuning has none there).
func MethodDoc(method string) string {
	if method == train.MethodFull {
		return "full fine-tuning (every base weight)"
	}
	if k, ok := mixer.ByMethod(method); ok {
		return k.Doc
	}
	return "unknown method"
}

// OwnSettings names, per group, the train flags of its cells that not every group shares (the
// sweep's variant flags and varied axes, e.g. `--match-params moslora`, `--lr-ratio-b 16`),
// from cell.json; "-" when it has none.
func OwnSettings(groups []*Group) []string {
	count := map[string]int{}
	flags := make([][]string, len(groups))
	for i, g := range groups {
		if len(g.Runs) == 0 {
			continue
		}
		for _, f := range g.Runs[0].Cell.Flags {
			s := fmt.Sprintf("`--%s %s`", f.Name, f.Value)
			flags[i] = append(flags[i], s)
			count[s]++
		}
	}
	out := make([]string, len(groups))
	for i, fs := range flags {
		var own []string
		for _, f := range fs {
			if count[f] < len(groups) {
				own = append(own, f)
			}
		}
		out[i] = "-"
		if len(own) > 0 {
			out[i] = strings.Join(own, " ")
		}
	}
	return out
}
