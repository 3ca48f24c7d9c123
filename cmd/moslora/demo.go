package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/train"
	"github.com/spf13/cobra"
)

func init() {
	d := train.DefaultDemo()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Train a MoSLoRA adapter on a small task set and show before/after scores",
		Long: `Evaluate a small base model on held-out task rows, train a MoSLoRA adapter (r 16 on all seven
projections) on a few hundred task rows, and evaluate again.

The embedded default model and task set are not in the repository yet: until they are, the demo
uses ../shared/models/base-19m with a slice of ../shared/data/tasks/mix (--model, --train and
--test override the paths).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if d.ModelDir == "" || d.TrainData == "" || d.TestData == "" {
				root := shared.Root()
				if root == "" {
					return fmt.Errorf("demo: the embedded default model is not available yet and ../shared was not found beside the repository (pass --model, --train and --test)")
				}
				fmt.Fprintf(w, "note: the embedded default model is not available yet; using %s and slices of %s\n",
					filepath.Join(root, "models", "base-19m"), filepath.Join(root, "data", "tasks", "mix"))
				if d.ModelDir == "" {
					d.ModelDir = filepath.Join(root, "models", "base-19m")
				}
				if d.TrainData == "" {
					d.TrainData = filepath.Join(root, "data", "tasks", "mix", "train.jsonl")
				}
				if d.TestData == "" {
					d.TestData = filepath.Join(root, "data", "tasks", "mix", "test.jsonl")
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			r, err := train.RunDemo(ctx, d, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "\nbefore (base model, %d rows):\n", r.EvalRows)
			r.Before.WriteTable(w)
			fmt.Fprintf(w, "\nafter (%d updates on %d rows, final loss %.3f):\n", r.Train.Steps, r.TrainRows, r.Train.FinalLoss)
			r.After.WriteTable(w)
			for _, sm := range r.Samples {
				fmt.Fprintf(w, "\n[%s] %s\n  expected:%s\n  before:  %q\n  after:   %q\n", sm.Task, lastLine(sm.Input, 2), sm.Want, sm.Before, sm.After)
			}
			if r.Before.AvgScore != nil && r.After.AvgScore != nil {
				fmt.Fprintf(w, "\navg_score %.2f → %.2f   (total %s; adapter in %s)\n", *r.Before.AvgScore, *r.After.AvgScore, r.Elapsed.Round(1e9), d.Out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&d.ModelDir, "model", "", "model folder (default: the embedded model, or ../shared/models/base-19m)")
	fl.StringVar(&d.TrainData, "train", "", "training JSONL (default: ../shared/data/tasks/mix/train.jsonl)")
	fl.StringVar(&d.TestData, "test", "", "evaluation JSONL (default: ../shared/data/tasks/mix/test.jsonl)")
	fl.StringVar(&d.Out, "out", "", "output folder (default: a new temporary folder)")
	fl.IntVar(&d.TrainRows, "rows", d.TrainRows, "training rows (the first N)")
	fl.IntVar(&d.PerTask, "per-task", d.PerTask, "evaluation rows per task")
	fl.Int64Var(&d.Config.Seed, "seed", d.Config.Seed, "seed")
	rootCmd.AddCommand(cmd)
}

// lastLine returns the last n lines of s joined by " / " (the input and answer cue of a prompt).
func lastLine(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
