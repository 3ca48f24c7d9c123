package main

import (
	"bytes"
	"testing"

	"github.com/spf13/pflag"
)

// runCLI runs `moslora args...` on the shared rootCmd and returns what it printed to standard
// output. Every subcommand's flags are reset to their defaults before and after, because cobra
// keeps flag values between Execute calls.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	resetAllFlags()
	t.Cleanup(resetAllFlags)
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	defer rootCmd.SetOut(nil)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	return out.String(), err
}

func resetAllFlags() {
	for _, c := range rootCmd.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if sv, ok := f.Value.(pflag.SliceValue); ok { // Set would append "[]"
				sv.Replace(nil)
			} else {
				f.Value.Set(f.DefValue)
			}
			f.Changed = false
		})
	}
}
