package main

import (
	"fmt"
	"path/filepath"

	"github.com/moslora/moslora/report"
	"github.com/spf13/cobra"
)

func init() {
	var opt report.Options
	var html bool
	cmd := &cobra.Command{
		Use:   "report SWEEP_DIR --out REPORT_DIR [--html] [--force]",
		Short: "Write a Markdown report with figures (PNG and SVG) of a sweep",
		Long: `Read a sweep folder (moslora sweep --out SWEEP_DIR) and write REPORT_DIR/report.md with its figures
in PNG and SVG:

  - the runs per group (cells differing only in their seed);
  - avg_score, balanced_score and NLL per group (mean, std, min, max), each group against the first
    (paired over seeds: paired t, Wilcoxon signed-rank, d_z; unpaired: Welch, Mann–Whitney,
    Cohen's d), with a box-and-points figure of every run;
  - per-task scores with 95% Student-t intervals over seeds (table and figure);
  - per run: avg_score with its 95% bootstrap interval over the test examples, balanced_score, NLL,
    final training loss;
  - training loss per update: mean over seeds and min–max band per group;
  - the dense mixer's singular values per layer and module (MoSLoRA runs, from lora_AB), the global
    mixer's subspace weights; gate usage of gated runs is not logged yet and the report says so.

Every number in report.md is read from, or computed from, the run files. An existing report.md is
not overwritten without --force. --html also writes report.html, one file with the SVG figures
embedded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.Out == "" {
				return fmt.Errorf("report: --out is required")
			}
			s, err := report.Load(args[0])
			if err != nil {
				return err
			}
			if err := report.Write(s, opt); err != nil {
				return err
			}
			if html {
				if err := report.WriteHTML(opt.Out); err != nil {
					return err
				}
			}
			runs := 0
			for _, g := range s.Groups {
				runs += len(g.Runs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report of %d runs in %d groups: %s\n", runs, len(s.Groups), filepath.Join(opt.Out, report.File))
			return nil
		},
	}
	cmd.Flags().StringVar(&opt.Out, "out", "", "report folder (report.md and the figures)")
	cmd.Flags().BoolVar(&html, "html", false, "also write report.html: the same report in one file, figures embedded")
	cmd.Flags().BoolVar(&opt.Force, "force", false, "overwrite an existing report.md")
	rootCmd.AddCommand(cmd)
}
