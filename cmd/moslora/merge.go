package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/jobs"
	"github.com/spf13/cobra"
)

func init() {
	var modelDir, adapterDir, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "merge --model DIR --adapter DIR --out DIR [--force]",
		Short: "Write a Hugging Face model folder with the adapter merged into the base weights",
		Long: `merge writes --out, a copy of the model folder whose adapted weights hold W + s·B·M·A in the
base checkpoint's dtype (GPT-2 Conv1D layout and tied embeddings kept; config and tokenizer files
copied). Identity, dense and global mixers merge; a gated mixer cannot (its ΔW depends on the input).
The folder is written beside --out and renamed into place when complete; an existing --out is an
error unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			defer func() { err = mergeError(err) }()
			if err := export.CheckOutside("merge", out, map[string]string{"model": modelDir, "adapter": adapterDir}); err != nil {
				return err
			}
			r, err := jobs.Merge(jobs.MergeJob{Model: modelDir, Adapter: adapterDir, Out: out, Force: force})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d modules merged (%s mixer, dtype %s)\n", out, r.Modules, r.Mixer, r.DType)
			return nil
		},
	}
	cmd.Flags().StringVar(&modelDir, "model", "", "base Hugging Face model folder")
	cmd.Flags().StringVar(&adapterDir, "adapter", "", "PEFT or MoSLoRA adapter folder")
	cmd.Flags().StringVar(&out, "out", "", "model folder to write")
	cmd.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	for _, f := range []string{"model", "adapter", "out"} {
		cmd.MarkFlagRequired(f)
	}
	rootCmd.AddCommand(cmd)
}

// mergeError prefixes an error with "merge:" in place of the package that raised it, so that
// every message of the merge command says where it comes from.
func mergeError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, p := range []string{"export: ", "model: ", "adapter: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if !strings.HasPrefix(msg, "merge: ") {
		msg = "merge: " + msg
	}
	return errors.New(msg)
}
