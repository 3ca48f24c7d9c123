package main

import (
	"fmt"
	"slices"

	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/jobs"
	"github.com/spf13/cobra"
)

func init() {
	var modelDir, adapterDir, format, out string
	var force bool
	var mo modelExportFlags
	cmd := &cobra.Command{
		Use:   "export --model DIR [--adapter DIR] --format peft|peft-moslora|gguf|gguf-model|ollama --out PATH [--force]",
		Short: "Export an adapter (PEFT, MoSLoRA, GGUF LoRA) or a whole model (GGUF, Ollama folder)",
		Long: `export writes the adapter in DIR for other runtimes:
  peft          a stock PEFT LoRA folder (mixer folded into A: A' = M·A), loadable by PEFT and vLLM
  peft-moslora  the official MoSLoRA folder (lora_AB, "lora_use_mixer": true); dense mixers only
  gguf          a llama.cpp / Ollama LoRA adapter file (mixer folded, llama.cpp tensor names)
  gguf-model    the model folder --model (base or merged) as one llama.cpp GGUF model file:
                metadata, tokenizer, chat template; matrices in --outtype (no --adapter)
  ollama        a folder for "ollama create": the GGUF model, with --adapter the GGUF adapter
                as ADAPTER, a Modelfile (TEMPLATE from the chat template, stop tokens), README
Gated mixers have no fixed ΔW and cannot be exported in folded form. Output is written beside
--out and renamed into place; an existing --out is an error unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			inputs := map[string]string{"model": modelDir, "adapter": adapterDir}
			if format == "gguf-model" {
				delete(inputs, "adapter") // not read: runModelExport refuses it
			}
			if err := export.CheckOutside("export", out, inputs); err != nil {
				return err
			}
			switch format {
			case "gguf-model", "ollama":
				return runModelExport(cmd, format, modelDir, adapterDir, out, force, mo)
			}
			if !slices.Contains(jobs.ExportFormats, format) {
				return fmt.Errorf("--format %q: expected peft, peft-moslora, gguf, gguf-model or ollama", format)
			}
			if adapterDir == "" {
				return fmt.Errorf("--format %s needs --adapter", format)
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
	cmd.Flags().StringVar(&format, "format", "", "peft, peft-moslora, gguf, gguf-model or ollama")
	cmd.Flags().StringVar(&out, "out", "", "folder (peft, peft-moslora, ollama) or file (gguf, gguf-model) to write")
	cmd.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	mo.register(cmd)
	for _, f := range []string{"model", "format", "out"} {
		cmd.MarkFlagRequired(f)
	}
	rootCmd.AddCommand(cmd)
}
