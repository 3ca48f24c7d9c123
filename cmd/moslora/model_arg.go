package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/moslora/moslora/hub"
	"github.com/spf13/cobra"
)

// This file is the one place where a model argument becomes a folder. Every command's --model
// (and inspect's argument) may be a folder or a hub name org/name[@revision]; a name is resolved
// through the Hugging Face cache before the command runs (package hub), so the commands
// themselves only ever see folders.

// modelFlagNote is appended to each --model flag's help.
const modelFlagNote = "; or a hub name org/name[@revision], read from the Hugging Face cache and downloaded when missing"

func init() {
	rootCmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		f := cmd.Flags().Lookup("model")
		if f == nil || !f.Changed || f.Value.String() == "" {
			return nil
		}
		dir, err := resolveModel(cmd, f.Value.String())
		if err != nil {
			return fmt.Errorf("--model %s: %w", f.Value.String(), err)
		}
		return f.Value.Set(dir)
	}
	help := rootCmd.HelpFunc()
	rootCmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if f := c.Flags().Lookup("model"); f != nil && !strings.Contains(f.Usage, "org/name") {
			f.Usage += modelFlagNote
		}
		help(c, args)
	})
}

// resolveModel returns the model folder for spec: spec itself when it is a path (or no hub name),
// else the cache snapshot of the hub name, downloading what is missing with progress on
// the command's standard error. Ctrl-C stops a download; what arrived is kept for the next run to resume.
func resolveModel(cmd *cobra.Command, spec string) (string, error) {
	if _, err := os.Stat(spec); err == nil {
		return spec, nil // a path that exists needs nothing from the environment (an unreadable token file)
	}
	opt, err := hub.EnvOptions()
	if err != nil {
		return "", err
	}
	opt.Progress = cmd.ErrOrStderr()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	return hub.Resolve(ctx, spec, opt)
}
