package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/moslora/moslora/jobs"
	"github.com/spf13/cobra"
)

// Every command's --model (and inspect's argument) may be a folder or a hub name
// org/name[@revision]; it is resolved here, before the command runs, by jobs.ModelDir (the one
// place a model argument becomes a folder), so the commands themselves only ever see folders.

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

// resolveModel returns the model folder for spec (jobs.ModelDir, the one place a model argument
// becomes a folder), downloading what is missing with progress on the command's standard error.
// Ctrl-C stops a download; what arrived is kept for the next run to resume.
func resolveModel(cmd *cobra.Command, spec string) (string, error) {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	return jobs.ModelDir(ctx, spec, cmd.ErrOrStderr())
}
