package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/moslora/moslora/jobs"
	"github.com/spf13/cobra"
)

func init() {
	d := jobs.DefaultDemo()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Train a MoSLoRA adapter on a small task set and show before/after scores",
		Long: `Evaluate a small base model on held-out task rows, train a MoSLoRA adapter (r 16 on all seven
projections) on a few hundred task rows, and evaluate again.

With no flags it runs on the embedded default (package defaults): a 2.9M-parameter Llama that this
project pretrained from random initialisation on public-domain books, and a small task set
(sentiment, spam, quiz, define, gocode). --model, --train and --test point it elsewhere, e.g. at
../shared/models/base-19m and ../shared/data/tasks/mix.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
			defer stop()
			r, err := jobs.RunDemo(ctx, d, os.Stderr)
			if err != nil {
				return err
			}
			if r.EmbeddedDefault {
				fmt.Fprintln(w, "used the embedded default: a 2.9M-parameter Llama pretrained by this project (defaults/build.sh) and 5 small tasks")
			}
			fmt.Fprintln(w)
			r.WriteSummary(w)
			fmt.Fprintf(w, "\nbefore (base model, %d rows):\n", r.EvalRows)
			r.Before.WriteTable(w)
			fmt.Fprintf(w, "\nafter (%d updates on %d rows, final loss %.3f):\n", r.Train.Steps, r.TrainRows, r.Train.FinalLoss)
			r.After.WriteTable(w)
			if r.Before.AvgScore != nil && r.After.AvgScore != nil {
				fmt.Fprintf(w, "avg_score %.2f → %.2f   (total %s; adapter in %s)\n", *r.Before.AvgScore, *r.After.AvgScore, r.Elapsed.Round(1e9), r.Out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&d.ModelDir, "model", "", "model folder (default: the embedded model)")
	fl.StringVar(&d.TrainData, "train", "", "training JSONL (default: the embedded task set)")
	fl.StringVar(&d.TestData, "test", "", "evaluation JSONL (default: the embedded task set)")
	fl.StringVar(&d.Out, "out", "", "output folder (default: a new temporary folder)")
	fl.IntVar(&d.TrainRows, "rows", d.TrainRows, "training rows (the first N)")
	fl.IntVar(&d.PerTask, "per-task", d.PerTask, "evaluation rows per task")
	fl.Int64Var(&d.Config.Seed, "seed", d.Config.Seed, "seed")
	rootCmd.AddCommand(cmd)
}
