package main

import (
	"encoding/json"
	"fmt"

	"github.com/moslora/moslora/eval"
	"github.com/spf13/cobra"
)

func init() {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "compare NAME=SRC[,SRC...] NAME=SRC[,SRC...] [...]",
		Short: "Compare methods over several seeds: mean ± std of avg_score, Welch's t-test, Mann–Whitney",
		Long: `Summarise groups of runs (one run per seed) and test each group against the first.

Each SRC is an "eval --json" file, a glob pattern of them (quoted), or a bare avg_score such as a
published reference number. Per group: runs, mean, sample standard deviation, min and max of
avg_score, and per task the mean ± std of accuracy or exact match. Against the first group: the
difference of means, Welch's unequal-variance t-test and the Mann–Whitney rank-sum test (exact for
small samples without ties), both two-sided.

Example:
  moslora compare 'lora=runs/lora-*/eval.json' 'moslora=runs/moslora-*/eval.json' torch=33.6,33.7,32.9`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var groups []*eval.Group
			for _, a := range args {
				g, err := eval.ParseGroup(a)
				if err != nil {
					return err
				}
				groups = append(groups, g)
			}
			c := eval.Compare(groups)
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			if err := c.WriteTable(w); err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summaries and tests as JSON")
	rootCmd.AddCommand(cmd)
}
