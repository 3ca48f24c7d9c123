package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/moslora/moslora/eval"
	"github.com/spf13/cobra"
)

func init() {
	var asJSON bool
	var metric string
	var parity []string
	var tol float64
	var about []string
	for _, m := range eval.Metrics {
		about = append(about, fmt.Sprintf("  %-15s %s", m.Name, m.About))
	}
	cmd := &cobra.Command{
		Use:   "compare NAME=SRC[,SRC...] NAME=SRC[,SRC...] [...]",
		Short: "Compare methods over several seeds: mean ± std, paired and unpaired tests, parity checks",
		Long: `Summarise groups of runs (one run per seed) and test each group against the first.

Each SRC is an "eval --json" file (e.g. a sweep's runs/<cell>/eval.json), a glob pattern of them
(quoted), or a bare number such as a published reference score, in the units of --metric. Per
group: runs, mean, sample standard deviation, min and max of the metric, and per task the mean ±
std; a group of one run read from a file also gets a 95% bootstrap interval over its test
examples (avg_score). Against the first group, two-sided: the difference of means, Welch's
t-test, the Mann–Whitney rank-sum test and Cohen's d; and, over the seeds both groups ran (read
from the train_config.json beside each eval.json, so runs of the same seed are paired: same data
order, same initialisation draw), the paired t-test, the Wilcoxon signed-rank test (scipy's
defaults: zero differences dropped, exact for ≤ 50 pairs without zeros) and d_z.

--parity GROUP=REF checks that GROUP's mean lies within ±--parity-tol of REF (another group's
mean, or a number); the command fails when a check does not hold.

Metrics (--metric):
` + strings.Join(about, "\n") + `

Example:
  moslora compare 'lora=runs/lora-seed*/eval.json' 'moslora=runs/moslora-seed*/eval.json' \
    torch-peft=33.13,34.48,31.72,32.99,32.49 --parity lora=torch-peft`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := eval.MetricByName(metric)
			if err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			opt := eval.CompareOptions{Metric: m}
			for _, p := range parity {
				pp, err := eval.ParseParity(p, tol)
				if err != nil {
					return fmt.Errorf("compare: %w", err)
				}
				opt.Parity = append(opt.Parity, pp)
			}
			var groups []*eval.Group
			for _, a := range args {
				g, err := eval.ParseGroup(a)
				if err != nil {
					return err
				}
				groups = append(groups, g)
			}
			c, err := eval.Compare(groups, opt)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(c); err != nil {
					return err
				}
			} else if err := c.WriteTable(w); err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			for _, p := range c.Parity {
				if !p.Within {
					return fmt.Errorf("compare: parity check failed: %s mean %.4g is %+.4g from %s (tolerance ±%g)", p.Group, p.Mean, p.Diff, p.Ref, p.Tol)
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&asJSON, "json", false, "print the summaries, tests and parity checks as JSON")
	fl.StringVar(&metric, "metric", "avg_score", "the score compared: avg_score, balanced_score, nll, accuracy, exact_match")
	fl.StringArrayVar(&parity, "parity", nil, "GROUP=REF: check GROUP's mean within ±--parity-tol of REF (a group or a number); repeatable")
	fl.Float64Var(&tol, "parity-tol", 1, "tolerance of --parity checks, in the metric's units")
	rootCmd.AddCommand(cmd)
}
