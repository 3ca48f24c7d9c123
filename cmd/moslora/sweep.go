package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/sweep"
	trainpkg "github.com/moslora/moslora/train"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// sweepOwn are train's flags that the sweep sets itself, and sweepBookkeeping those passed to
// every cell without being part of its result (not in cell.json).
var (
	sweepOwn         = map[string]bool{"model": true, "data": true, "eval": true, "out": true, "method": true, "seed": true, "resume": true, "save-every": true}
	sweepBookkeeping = map[string]bool{"keep": true, "log-every": true}
)

func init() {
	var in sweep.Inputs
	var methods, seeds, gridFile, metric string
	var opt sweep.Options
	var saveEvery int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sweep --model DIR --data FILE --eval FILE --out DIR [--methods lora,moslora] [--seeds 0-4] [--jobs N] [train flags]",
		Short: "Run a grid of methods × seeds (× train flag values): train + eval per cell, resumable",
		Long: `Train and evaluate every cell of a grid — methods × seeds, times the values of any train flag
given as a comma list (e.g. --rank 4,8; --targets takes alternatives separated by ';') — each into
OUT/runs/<cell>/ (cell.json, train.log, the adapter, metrics.jsonl, train_config.json, eval.json),
then print the compare table of the groups (cells that differ only in their seed).

Cells are named <method>[-<flag><value>...]-seed<S>. The seed draws the initialisation and the data
order, the data order alone (never the method), so the same seed pairs methods and compare's paired
tests apply. A cell whose eval.json exists is finished and skipped; any other cell is run with
"train --resume" (from its newest checkpoint, written every --save-every updates and on Ctrl-C),
so rerunning the same command after an interruption or a crash continues where it stopped. A cell
folder made for different settings is refused, never overwritten.

Each cell runs as a child process of this binary ("moslora train"), --jobs at a time, the --threads
split evenly among them (GOMAXPROCS per child); a failing cell does not stop the others. Progress
and the ETA go to standard error.

--grid FILE reads the grid from JSON instead (command-line flags override it):
  {"methods": ["lora", {"name": "lora-r20", "method": "lora", "flags": {"rank": 20}}],
   "seeds": "0-4", "flags": {"steps": 100, "lr": [1e-3, 2e-3]}}
The study's controls and variants are methods and train flags, so they are grid entries:
  {"methods": ["lora", "moslora", "moslora-folded",
     {"name": "lora-eq", "method": "lora", "flags": {"match-params": "moslora"}},
     {"name": "moslora-plus", "method": "moslora", "flags": {"lr-ratio-b": 4, "lr-ratio-mixer": 4}},
     {"name": "moslora-mwarm", "method": "moslora", "flags": {"mixer-warmup": 30}}],
   "seeds": "0-4"}
(the report names each group's method and its own flags).

Example:
  moslora sweep --model ../shared/models/base-19m --data mix/train.jsonl --eval mix/test.jsonl \
    --methods lora,moslora --seeds 0-4 --out study --jobs 2 --rank 8,16`,
		DisableFlagParsing: true, // train's flags are added at run time (see addSweepTrainFlags)
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			train, err := addSweepTrainFlags(fs)
			if err != nil {
				return err
			}
			if err := fs.Parse(args); err != nil {
				return fmt.Errorf("sweep: %w", err)
			}
			if help, _ := fs.GetBool("help"); help {
				return cmd.Help()
			}
			if fs.NArg() > 0 {
				return fmt.Errorf("sweep: unexpected argument %q (train flags need a leading --)", fs.Arg(0))
			}
			if in.Model == "" || in.Data == "" || in.Eval == "" || opt.Out == "" {
				return fmt.Errorf("sweep: --model, --data, --eval and --out are required")
			}
			// Flags are parsed here, after the root's PersistentPreRunE: resolve a hub name once,
			// so the cells share one snapshot folder (recorded in each cell.json).
			dir, err := resolveModel(cmd, in.Model)
			if err != nil {
				return fmt.Errorf("sweep: --model %s: %w", in.Model, err)
			}
			in.Model = dir
			// Absolute paths in cell.json: a rerun from another directory names the same files.
			for _, f := range []struct {
				flag string
				path *string
			}{{"model", &in.Model}, {"data", &in.Data}, {"eval", &in.Eval}} {
				if _, err := os.Stat(*f.path); err != nil {
					return fmt.Errorf("sweep: --%s %s: %w", f.flag, *f.path, errors.Unwrap(err))
				}
				if *f.path, err = filepath.Abs(*f.path); err != nil {
					return fmt.Errorf("sweep: --%s: %w", f.flag, err)
				}
			}
			m, err := eval.MetricByName(metric)
			if err != nil {
				return fmt.Errorf("sweep: %w", err)
			}
			g := &sweep.Grid{}
			if gridFile != "" {
				if g, err = sweep.ReadGridFile(gridFile); err != nil {
					return err
				}
			}
			if gridFile == "" || fs.Changed("methods") {
				g.Variants = sweep.ParseMethods(methods)
			}
			if gridFile == "" || fs.Changed("seeds") {
				if g.Seeds, err = sweep.ParseSeeds(seeds); err != nil {
					return err
				}
			}
			for _, v := range g.Variants { // train's own check, before any cell starts
				c := trainpkg.DefaultConfig()
				c.Method = v.Method
				if err := c.Validate(); err != nil {
					return fmt.Errorf("sweep: method %s: %w", v.Name, err)
				}
			}
			runner := sweep.Exec{SaveEvery: saveEvery}
			if runner.Exe, err = os.Executable(); err != nil {
				return fmt.Errorf("sweep: finding this binary: %w", err)
			}
			var ferr error
			fs.VisitAll(func(f *pflag.Flag) {
				tf := train.Lookup(f.Name)
				if !f.Changed || tf == nil || sweepOwn[f.Name] || ferr != nil {
					return
				}
				if sweepBookkeeping[f.Name] {
					runner.Extra = append(runner.Extra, "--"+f.Name+"="+f.Value.String())
					return
				}
				vals := sweep.SplitValues(f.Name, f.Value.String())
				for _, v := range vals {
					if err := checkFlagValue(tf, v); err != nil {
						ferr = err
						return
					}
				}
				g.Fixed, g.Vary = withoutFlag(g.Fixed, g.Vary, f.Name)
				if len(vals) == 1 {
					g.Fixed = append(g.Fixed, sweep.Flag{Name: f.Name, Value: vals[0]})
				} else {
					g.Vary = append(g.Vary, sweep.Axis{Flag: f.Name, Values: vals})
				}
			})
			if ferr != nil {
				return ferr
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			opt.Progress = cmd.ErrOrStderr()
			_, runErr := sweep.Run(ctx, g, in, runner, opt)
			if runErr != nil && ctx.Err() != nil {
				return runErr
			}
			groups, err := sweep.Groups(g, opt.Out)
			if err != nil {
				return err
			}
			if len(groups) > 0 {
				c, err := eval.Compare(groups, eval.CompareOptions{Metric: m})
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if asJSON {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					err = enc.Encode(c)
				} else {
					err = c.WriteTable(w)
				}
				if err != nil {
					return err
				}
			}
			return runErr
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in.Model, "model", "", "Hugging Face model folder")
	fl.StringVar(&in.Data, "data", "", "training JSONL file")
	fl.StringVar(&in.Eval, "eval", "", "evaluation JSONL file (each cell's eval.json)")
	fl.StringVar(&opt.Out, "out", "", "sweep folder (cells in OUT/runs/<cell>/)")
	fl.StringVar(&methods, "methods", "lora,moslora", "methods to compare (train's --method values), the first being the reference")
	fl.StringVar(&seeds, "seeds", "0-4", "seeds: a range A-B and/or a comma list")
	fl.StringVar(&gridFile, "grid", "", "JSON grid file (methods, seeds, flags); command-line flags override it")
	fl.IntVar(&opt.Jobs, "jobs", 1, "cells run at once")
	fl.IntVar(&opt.Threads, "threads", runtime.NumCPU(), "threads in all, split among the running cells")
	fl.DurationVar(&opt.Every, "progress-every", time.Minute, "how often to list the running cells and their last update (0: only at a cell's start and end)")
	fl.IntVar(&saveEvery, "save-every", 50, "checkpoint every N updates in each cell (what a killed cell can lose)")
	fl.StringVar(&metric, "metric", "avg_score", "score of the final table: avg_score, balanced_score, nll, accuracy, exact_match")
	fl.BoolVar(&asJSON, "json", false, "print the final comparison as JSON")
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		addSweepTrainFlags(c.Flags())
		c.Parent().HelpFunc()(c, args) // the root's (it adds the hub-name note to --model)
	})
	rootCmd.AddCommand(cmd)
}

// addSweepTrainFlags gives the sweep every flag of train that the sweep does not set itself, as
// text (a comma list sweeps it), with train's default and help; it returns train's flags.
func addSweepTrainFlags(fs *pflag.FlagSet) (*pflag.FlagSet, error) {
	var train *cobra.Command
	for _, c := range rootCmd.Commands() {
		if c.Name() == "train" {
			train = c
		}
	}
	if train == nil {
		return nil, fmt.Errorf("sweep: no train command") // a programmer error
	}
	train.Flags().VisitAll(func(f *pflag.Flag) {
		if sweepOwn[f.Name] || fs.Lookup(f.Name) != nil || f.Name == "help" { // cobra adds train's own help flag once train has run
			return
		}
		usage := f.Usage + " (train's flag; a comma list sweeps its values)"
		if f.Name == "targets" {
			usage = f.Usage + " (train's flag; alternatives separated by ';' sweep it)"
		}
		if sweepBookkeeping[f.Name] {
			usage = f.Usage + " (train's flag, for every cell)"
		}
		fs.String(f.Name, f.DefValue, usage)
		if f.Value.Type() == "bool" {
			fs.Lookup(f.Name).NoOptDefVal = "true"
		}
	})
	return train.Flags(), nil
}

// checkFlagValue checks that v parses as the train flag's type, naming the flag if not.
func checkFlagValue(f *pflag.Flag, v string) error {
	var err error
	switch f.Value.Type() {
	case "int", "int64":
		_, err = strconv.ParseInt(v, 10, 64)
	case "float64":
		_, err = strconv.ParseFloat(v, 64)
	case "bool":
		_, err = strconv.ParseBool(v)
	}
	if err != nil || strings.TrimSpace(v) == "" {
		return fmt.Errorf("sweep: --%s %q: expected %s (or a comma list of them)", f.Name, v, map[string]string{
			"int": "an integer", "int64": "an integer", "float64": "a number", "bool": "true or false"}[f.Value.Type()])
	}
	return nil
}

// withoutFlag drops a flag from the fixed flags and axes (the command line overrides the grid file).
func withoutFlag(fixed []sweep.Flag, vary []sweep.Axis, name string) ([]sweep.Flag, []sweep.Axis) {
	var f []sweep.Flag
	for _, x := range fixed {
		if x.Name != name {
			f = append(f, x)
		}
	}
	var v []sweep.Axis
	for _, x := range vary {
		if x.Flag != name {
			v = append(v, x)
		}
	}
	return f, v
}
