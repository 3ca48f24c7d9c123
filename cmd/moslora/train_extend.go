package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// extendHelp is train's --help section on continual learning.
const extendHelp = `
Continual learning: --extend DIR starts from the adapter in DIR (lora, moslora or moslora-folded)
and appends --extend-rank new latent dimensions (new subspaces: rows of A, columns of B and, for
moslora, a new diagonal block of the mixer whose off-diagonal blocks stay zero); only the new part
trains, the old A rows, B columns and mixer block stay bit-identical, and the new B starts at zero,
so the extended adapter begins exactly where the old one is. The output is an ordinary adapter of
rank r_old + r_new whose lora_alpha keeps the old scaling (alpha/r, or alpha/√r with rslora).
--extend-rank 0 trains the loaded adapter's own tensors, all of them, on the new data (sequential
fine-tuning; any adapter method). The method, rank, alpha, targets and mixer settings come from
the adapter, so those flags are refused with --extend; train_config.json records the source.
  moslora train --model M --data task2.jsonl --extend runs/task1 --extend-rank 8 --out runs/task2
`

// extendTakes are the train flags an --extend run takes from the adapter.
var extendTakes = []string{"method", "rank", "alpha", "targets", "subspaces", "mixer-init", "match-params"}

// checkExtendFlags refuses flags that --extend takes from the adapter, and --extend-rank alone.
func checkExtendFlags(cmd *cobra.Command, extend string) error {
	ch := cmd.Flags().Changed
	if extend == "" {
		if ch("extend-rank") {
			return fmt.Errorf("train: --extend-rank needs --extend (the adapter folder to extend)")
		}
		return nil
	}
	var set []string
	for _, f := range extendTakes {
		if ch(f) {
			set = append(set, "--"+f)
		}
	}
	if len(set) > 0 {
		return fmt.Errorf("train: %s: an --extend run takes the method, rank, alpha, targets and mixer settings from the adapter in %s; leave %s out (--extend-rank sets the new subspaces' rank)", strings.Join(set, ", "), extend, strings.Join(set, ", "))
	}
	return nil
}
