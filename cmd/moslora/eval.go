package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/mpi"
	"github.com/spf13/cobra"
)

func init() {
	var f jobs.EvalFiles
	var opt eval.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "eval --model DIR [--adapter DIR] --data FILE [--json] [--limit N]",
		Short: "Evaluate a model (and adapter): NLL, accuracy, balanced accuracy, exact match per task",
		Long: `Score JSONL task rows: completion NLL per token; for rows with "choices", accuracy and
balanced accuracy (argmax of the summed log-probability of each choice's tokens); for the other
prompt rows, exact match (greedy decoding would emit " " + answer and then EOS, for any of
"answers", else the completion). avg_score is the mean over tasks of accuracy or exact match (%).
` + ranksHelp,
		Args: cobra.NoArgs,
		RunE: withRanks(func(cmd *cobra.Command, c mpi.Comm) error {
			opt.Comm = c
			if f.ModelDir == "" || f.Data == "" {
				return fmt.Errorf("eval: --model and --data are required")
			}
			w := cmd.OutOrStdout()
			rep, skipped, err := jobs.Evaluate(f, opt)
			if err != nil {
				return err
			}
			if skipped > 0 && c.Rank() == 0 {
				fmt.Fprintf(os.Stderr, "skipped %d bad lines of %s\n", skipped, f.Data)
			}
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.WriteTable(w)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ModelDir, "model", "", "Hugging Face model folder")
	fl.StringVar(&f.AdapterDir, "adapter", "", "PEFT adapter folder (default: the base model alone)")
	fl.StringVar(&f.Data, "data", "", "JSONL rows to score")
	fl.StringVar(&f.BaseDtype, "base-dtype", "auto", "memory of the frozen base's matrices: auto (a bf16 or f16 checkpoint stays in its 16 bits, others float32), f32, bf16, f16, q8 (GGUF Q8_0 blocks)")
	fl.StringVar(&f.Compute, "compute", "f32", "arithmetic of the products with the frozen base and of attention's products: f32, or bf16 (inputs rounded to bfloat16, float32 accumulation; AVX512-BF16, else a slow exact emulation)")
	fl.BoolVar(&f.SkipBad, "skip-bad", false, "skip (and count) bad JSONL lines instead of failing")
	fl.BoolVar(&asJSON, "json", false, `print {"tasks": {...}, "avg_score"} as JSON`)
	fl.IntVar(&opt.Limit, "limit", 0, "score the first N rows only")
	fl.IntVar(&opt.MaxLen, "max-len", 256, "truncate sequences like training examples (keep BOS and the last tokens)")
	fl.IntVar(&opt.BatchTokens, "batch-tokens", 2048, "padded tokens per forward pass")
	rootCmd.AddCommand(cmd)
}
