package main

import (
	"fmt"

	"github.com/moslora/moslora/jobs"
	"github.com/spf13/cobra"
)

func init() {
	var modelDir, input, out, adapterDir string
	var hidden, grads bool
	cmd := &cobra.Command{
		Use:   "forward --model DIR --input FILE.safetensors --out FILE.safetensors [--hidden] [--adapter DIR [--grads]]",
		Short: "Run the model on input_ids (and labels) from a safetensors file; write logits, loss, hidden states",
		Long: `forward reads the int64 tensor input_ids (batch, seq) and, if present, labels (batch, seq;
-100 = ignored) from --input, runs the model and writes float32 logits (batch, seq, vocab), loss
(shape [1], mean cross-entropy of logits[:, t] against labels[:, t+1]) when labels were given, and
with --hidden hidden_states.0 … hidden_states.L (batch, seq, hidden) in transformers' convention.
With --adapter the PEFT or MoSLoRA adapter in DIR is applied unmerged; --grads (which needs labels)
also writes grad.<key>, d loss / d tensor, for every adapter tensor, keyed as in
adapter_model.safetensors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if grads && adapterDir == "" {
				return fmt.Errorf("--grads needs --adapter: gradients are written for adapter tensors")
			}
			msg, err := jobs.Forward(jobs.ForwardJob{Model: modelDir, Adapter: adapterDir, Input: input, Out: out, Hidden: hidden, Grads: grads})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s\n", out, msg)
			return nil
		},
	}
	cmd.Flags().StringVar(&modelDir, "model", "", "Hugging Face model folder (config.json + safetensors)")
	cmd.Flags().StringVar(&input, "input", "", "safetensors file with int64 input_ids (batch, seq) and optional labels")
	cmd.Flags().StringVar(&out, "out", "", "safetensors file to write")
	cmd.Flags().BoolVar(&hidden, "hidden", false, "also write hidden_states.i")
	cmd.Flags().StringVar(&adapterDir, "adapter", "", "PEFT or MoSLoRA adapter folder to apply (unmerged)")
	cmd.Flags().BoolVar(&grads, "grads", false, "with --adapter and labels: also write grad.<key> for every adapter tensor")
	for _, f := range []string{"model", "input", "out"} {
		cmd.MarkFlagRequired(f)
	}
	rootCmd.AddCommand(cmd)
}

// readTokens reads a 2-D integer tensor as ints with its shape.
