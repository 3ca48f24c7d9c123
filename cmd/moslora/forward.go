package main

import (
	"fmt"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
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
			m, err := model.Load(modelDir)
			if err != nil {
				return err
			}
			var ad *adapter.Adapter
			if adapterDir != "" {
				if ad, err = adapter.Load(adapterDir, m); err != nil {
					return err
				}
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
			if grads && labels == nil {
				return fmt.Errorf("%s: --grads needs a labels tensor (batch, seq) beside input_ids", input)
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
			if grads {
				ad.ZeroGrad()
				if _, err := m.ForwardBackward(ids, labels, B, T); err != nil {
					return fmt.Errorf("%s: %w", input, err)
				}
				ps := ad.Params()
				for _, p := range ps {
					tensors = append(tensors, safetensors.FromFloat32("grad."+p.Key, p.Shape, p.G))
				}
				msg += fmt.Sprintf(", %d adapter gradients", len(ps))
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
	cmd.Flags().StringVar(&adapterDir, "adapter", "", "PEFT or MoSLoRA adapter folder to apply (unmerged)")
	cmd.Flags().BoolVar(&grads, "grads", false, "with --adapter and labels: also write grad.<key> for every adapter tensor")
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
