// Command moslora trains, evaluates, merges, exports and serves LoRA / MoSLoRA adapters for Hugging
// Face decoder models. Each subcommand lives in its own file and registers itself on rootCmd in an
// init function; the CLI holds no logic beyond parsing flags and printing.
package main

import (
	"fmt"
	"os"

	"github.com/moslora/moslora/internal/setting"
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
	cobra.OnInitialize(func() { inFlagTermsAll(rootCmd) })
}

// renamedFlags maps a setting key (train, jobs: *setting.Error) to its flag where the two differ;
// today none do (settings and flags share kebab-case names).
var renamedFlags = map[string]string{}

// flagName names a setting as the user typed it: as a flag.
func flagName(key string) string {
	if f, ok := renamedFlags[key]; ok {
		return "--" + f
	}
	return "--" + key
}

// flagError is an error whose setting errors are rendered as flags; it unwraps to the original.
type flagError struct {
	msg string
	err error
}

func (e *flagError) Error() string { return e.msg }
func (e *flagError) Unwrap() error { return e.err }

// inFlagTerms renders the setting errors in err (the library names settings by key) as flags.
func inFlagTerms(err error) error {
	if _, ok := setting.As(err); !ok {
		return err
	}
	return &flagError{setting.In(err, flagName), err}
}

// inFlagTermsAll makes every command's errors name flags: the one place library setting errors
// meet the command line. It runs before each command (cobra.OnInitialize) and wraps once.
func inFlagTermsAll(c *cobra.Command) {
	if c.RunE != nil && c.Annotations[flagTermsKey] == "" {
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error { return inFlagTerms(run(cmd, args)) }
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[flagTermsKey] = "1"
	}
	for _, sub := range c.Commands() {
		inFlagTermsAll(sub)
	}
}

const flagTermsKey = "moslora/flag-terms"

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "moslora:", inFlagTerms(err))
		os.Exit(1)
	}
}
