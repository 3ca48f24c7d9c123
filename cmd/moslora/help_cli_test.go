package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/train"
	"github.com/spf13/pflag"
)

// Every command's --help prints, for every flag, the default the command really uses: the
// "(default X)" cobra prints and any "default N" the usage text states agree with the flag's
// value, and the flags that mirror a library setting start from the library's default.
func TestHelpShowsTheRealDefaults(t *testing.T) {
	cfg, demo := train.DefaultConfig(), jobs.DefaultDemo()
	library := map[string]map[string]string{
		"train": {
			"method": cfg.Method, "rank": fmt.Sprint(cfg.Rank), "alpha": fmt.Sprint(cfg.Alpha),
			"subspaces": fmt.Sprint(cfg.Subspaces), "targets": strings.Join(cfg.Targets, ","),
			"lr": fmt.Sprint(cfg.LR), "epochs": fmt.Sprint(cfg.Epochs), "batch": fmt.Sprint(cfg.Batch),
			"grad-accum": fmt.Sprint(cfg.GradAccum), "warmup": fmt.Sprint(cfg.Warmup), "schedule": cfg.Schedule,
			"clip": fmt.Sprint(cfg.Clip), "weight-decay": fmt.Sprint(cfg.WeightDecay), "seed": fmt.Sprint(cfg.Seed),
			"max-len": fmt.Sprint(cfg.MaxLen), "keep": "1",
		},
		"demo": {"rows": fmt.Sprint(demo.TrainRows), "per-task": fmt.Sprint(demo.PerTask), "seed": fmt.Sprint(demo.Config.Seed)},
		"eval": {"max-len": fmt.Sprint(cfg.MaxLen), "batch-tokens": "2048"},
	}
	stated := regexp.MustCompile(`\bdefault (-?[0-9][0-9.e+-]*)`)
	checked := 0
	for _, c := range rootCmd.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		help, err := runCLI(t, c.Name(), "--help")
		if err != nil {
			t.Fatalf("%s --help: %v", c.Name(), err)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || f.Hidden {
				return
			}
			line := flagLine(help, f.Name)
			if line == "" {
				t.Errorf("%s --help does not list --%s", c.Name(), f.Name)
				return
			}
			checked++
			if want, ok := library[c.Name()][f.Name]; ok && !sameValue(f.DefValue, want) {
				t.Errorf("%s --%s starts at %q, the library default is %q", c.Name(), f.Name, f.DefValue, want)
			}
			if m := stated.FindStringSubmatch(line); m != nil && !sameValue(m[1], f.DefValue) && !strings.Contains(line, "(default "+f.DefValue) {
				t.Errorf("%s --%s: help states default %s, the flag's value is %s:\n%s", c.Name(), f.Name, m[1], f.DefValue, line)
			}
			zero := map[string]bool{"": true, "0": true, "false": true, "[]": true}
			if !zero[f.DefValue] && !strings.Contains(line, f.DefValue) {
				t.Errorf("%s --%s: help does not show the default %q:\n%s", c.Name(), f.Name, f.DefValue, line)
			}
		})
	}
	// One flag name, one type: --seed takes the same values in every command.
	seedTypes := map[string][]string{}
	for _, c := range rootCmd.Commands() {
		if f := c.Flags().Lookup("seed"); f != nil {
			seedTypes[f.Value.Type()] = append(seedTypes[f.Value.Type()], c.Name())
		}
	}
	if len(seedTypes) != 1 {
		t.Errorf("--seed has different types across commands: %v", seedTypes)
	}
	// train --help tells where the embedded default is and how to train on it.
	if help, _ := runCLI(t, "train", "--help"); !strings.Contains(help, "--model default") || !strings.Contains(help, "package defaults") {
		t.Errorf("train --help does not say how to train on the embedded default")
	}
	if checked < 60 {
		t.Fatalf("checked only %d flags", checked)
	}
}

// flagLine returns the line of --help's flag list describing --name.
func flagLine(help, name string) string {
	re := regexp.MustCompile(`^\s+(-\w, )?--` + regexp.QuoteMeta(name) + `(\s|$)`)
	for _, l := range strings.Split(help, "\n") {
		if re.MatchString(l) {
			return l
		}
	}
	return ""
}

// sameValue compares two printed values, numerically when both are numbers (1e-3 = 0.001).
func sameValue(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 == nil && err2 == nil {
		return x == y
	}
	return a == b
}
