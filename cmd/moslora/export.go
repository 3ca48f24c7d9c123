package main

import (
	"fmt"
	"slices"

	"github.com/moslora/moslora/jobs"
	"github.com/spf13/cobra"
)

func init() {
	var modelDir, adapterDir, format, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "export --model DIR --adapter DIR --format peft|peft-moslora|gguf --out PATH [--force]",
		Short: "Export an adapter as stock PEFT LoRA, official MoSLoRA, or a llama.cpp GGUF adapter",
		Long: `export writes the adapter in DIR for other runtimes:
  peft          a stock PEFT LoRA folder (mixer folded into A: A' = M·A), loadable by PEFT and vLLM
  peft-moslora  the official MoSLoRA folder (lora_AB, "lora_use_mixer": true); dense mixers only
  gguf          a llama.cpp / Ollama LoRA adapter file (mixer folded, llama.cpp tensor names)
Gated mixers have no fixed ΔW and cannot be exported in folded form. Output is written beside
--out and renamed into place; an existing --out is an error unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(jobs.ExportFormats, format) {
				return fmt.Errorf("--format %q: expected peft, peft-moslora or gguf", format)
			}
			n, err := jobs.Export(jobs.ExportJob{Model: modelDir, Adapter: adapterDir, Format: format, Out: out, Force: force})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s): %d modules\n", out, format, n)
			return nil
		},
	}
	cmd.Flags().StringVar(&modelDir, "model", "", "base Hugging Face model folder the adapter belongs to")
	cmd.Flags().StringVar(&adapterDir, "adapter", "", "PEFT or MoSLoRA adapter folder")
	cmd.Flags().StringVar(&format, "format", "", "peft, peft-moslora or gguf")
	cmd.Flags().StringVar(&out, "out", "", "folder (peft, peft-moslora) or file (gguf) to write")
	cmd.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	for _, f := range []string{"model", "adapter", "format", "out"} {
		cmd.MarkFlagRequired(f)
	}
	rootCmd.AddCommand(cmd)
}
