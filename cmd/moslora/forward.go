package main

import (
	"fmt"

	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
	"github.com/spf13/cobra"
)

func init() {
	var modelDir, input, out string
	var hidden bool
	cmd := &cobra.Command{
		Use:   "forward --model DIR --input FILE.safetensors --out FILE.safetensors [--hidden]",
		Short: "Run the model on input_ids (and labels) from a safetensors file; write logits, loss, hidden states",
		Long: `forward reads the int64 tensor input_ids (batch, seq) and, if present, labels (batch, seq;
-100 = ignored) from --input, runs the model and writes float32 logits (batch, seq, vocab), loss
(shape [1], mean cross-entropy of logits[:, t] against labels[:, t+1]) when labels were given, and
with --hidden hidden_states.0 … hidden_states.L (batch, seq, hidden) in transformers' convention.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := model.Load(modelDir)
			if err != nil {
				return err
			}
			in, err := safetensors.Open(input)
			if err != nil {
				return err
			}
			defer in.Close()
			ids, B, T, err := readTokens(in, input, "input_ids")
			if err != nil {
				return err
			}
			var labels []int
			if in.Info("labels") != nil {
				var lb, lt int
				if labels, lb, lt, err = readTokens(in, input, "labels"); err != nil {
					return err
				}
				if lb != B || lt != T {
					return fmt.Errorf("%s: labels has shape [%d %d], expected [%d %d] like input_ids", input, lb, lt, B, T)
				}
			}
			res, err := m.Forward(ids, B, T, hidden)
			if err != nil {
				return err
			}
			c := m.Config
			tensors := []safetensors.Tensor{safetensors.FromFloat32("logits", []int{B, T, c.VocabSize}, res.Logits)}
			msg := fmt.Sprintf("logits [%d %d %d]", B, T, c.VocabSize)
			if labels != nil {
				loss, err := model.Loss(res.Logits, labels, B, T, c.VocabSize)
				if err != nil {
					return fmt.Errorf("%s: %w", input, err)
				}
				tensors = append(tensors, safetensors.FromFloat32("loss", []int{1}, []float32{float32(loss)}))
				msg += fmt.Sprintf(", loss %.6g", loss)
			}
			for i, h := range res.Hidden {
				tensors = append(tensors, safetensors.FromFloat32(fmt.Sprintf("hidden_states.%d", i), []int{B, T, c.HiddenSize}, h))
			}
			if hidden {
				msg += fmt.Sprintf(", hidden_states.0..%d", len(res.Hidden)-1)
			}
			if err := safetensors.WriteFile(out, tensors, nil); err != nil {
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
	for _, f := range []string{"model", "input", "out"} {
		cmd.MarkFlagRequired(f)
	}
	rootCmd.AddCommand(cmd)
}

// readTokens reads a 2-D integer tensor as ints with its shape.
func readTokens(f *safetensors.File, path, name string) ([]int, int, int, error) {
	v, info, err := f.Int64(name)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(info.Shape) != 2 {
		return nil, 0, 0, fmt.Errorf("%s: %s has shape %v, expected (batch, seq)", path, name, info.Shape)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out, info.Shape[0], info.Shape[1], nil
}
