package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/moslora/moslora/export"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// modelExportFlags are the export flags of the whole-model formats (gguf-model, ollama).
type modelExportFlags struct {
	outtype string
	name    string
	asJSON  bool
}

func (f *modelExportFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.outtype, "outtype", "f16", "gguf-model / ollama: matrix type f32, f16, bf16 or q8_0 (norms and biases stay f32)")
	cmd.Flags().StringVar(&f.name, "name", "", "ollama: model name for the printed \"ollama create\" command (default: the --out folder's name)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "gguf-model / ollama: print a JSON summary instead of text")
}

func runModelExport(cmd *cobra.Command, format, modelDir, adapterDir, out string, force bool, f modelExportFlags) error {
	t, err := export.ParseGGUFOutType(f.outtype)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	var bar *progressbar.ProgressBar
	progress := func(done, total int) {
		if f.asJSON {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionSetDescription("converting tensors"), progressbar.OptionClearOnFinish(),
				progressbar.OptionThrottle(250*time.Millisecond))
		}
		bar.Set(done)
	}
	var res any
	switch format {
	case "gguf-model":
		if adapterDir != "" {
			return fmt.Errorf("--format gguf-model exports a model folder; merge the adapter first (moslora merge) or export it with --format gguf")
		}
		info, err := export.GGUFModel(out, modelDir, t, force, progress)
		if err != nil {
			return err
		}
		res = info
		if !f.asJSON {
			fmt.Fprintf(w, "wrote %s (gguf-model, %s, %s): %d tensors %v, %.1f MB\n", out, info.Architecture, info.OutType, info.Tensors, info.Types, float64(info.Bytes)/1e6)
		}
	case "ollama":
		info, err := export.Ollama(out, modelDir, adapterDir, export.OllamaOptions{OutType: t, Name: f.name}, force, progress)
		if err != nil {
			return err
		}
		res = info
		if !f.asJSON {
			fmt.Fprintf(w, "wrote %s (Modelfile, %s)\n", out, info.Model)
			for _, n := range info.Notes {
				fmt.Fprintf(w, "note: %s\n", n)
			}
			fmt.Fprintf(w, "run it with:\n  %s\n", info.Command)
		}
	}
	if f.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return nil
}
