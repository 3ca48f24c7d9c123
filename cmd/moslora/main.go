// Command moslora trains, evaluates, merges, exports and serves LoRA / MoSLoRA adapters for Hugging
// Face decoder models. Each subcommand lives in its own file and registers itself on rootCmd in an
// init function; the CLI holds no logic beyond parsing flags and printing.
package main

import (
	"fmt"
	"os"

	"github.com/moslora/moslora/internal/version"
	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "moslora",
	Version:       version.Read().String(),
	Short:         "Mixture-of-Subspaces LoRA fine-tuning in pure Go",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	rootCmd.SetVersionTemplate("moslora {{.Version}}\n")
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "moslora:", err)
		os.Exit(1)
	}
}
