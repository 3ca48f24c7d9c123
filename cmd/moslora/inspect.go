package main

import (
	"fmt"
	"strings"

	"github.com/moslora/moslora/model"
	"github.com/spf13/cobra"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "inspect DIR|org/name[@revision]",
		Short: "Describe a Hugging Face model folder (architecture, sizes, dtype, rope, tokenizer)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := resolveModel(cmd, args[0])
			if err != nil {
				return err
			}
			s, err := model.Summarize(dir)
			if err != nil {
				return err
			}
			c := s.Config
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "model          %s\n", s.Dir)
			fmt.Fprintf(w, "architecture   %s (%s family)\n", c.Architecture, c.Family)
			fmt.Fprintf(w, "parameters     %d (%.1fM) in %d tensors\n", s.NumParams, float64(s.NumParams)/1e6, s.Tensors)
			fmt.Fprintf(w, "dtype          %s (config: %s)\n", strings.Join(s.DTypes, ", "), orNone(c.WeightDType))
			fmt.Fprintf(w, "layers         %d\n", c.NumHiddenLayers)
			fmt.Fprintf(w, "hidden         %d (MLP %d, %s)\n", c.HiddenSize, c.IntermediateSize, c.Act)
			fmt.Fprintf(w, "heads          %d (kv-heads %d, head_dim %d)\n", c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim)
			fmt.Fprintf(w, "vocab          %d\n", c.VocabSize)
			fmt.Fprintf(w, "positions      %d\n", c.MaxPositionEmbeddings)
			fmt.Fprintf(w, "rope           %s\n", c.RopeString())
			if n := c.SlidingLayers(); n > 0 {
				fmt.Fprintf(w, "sliding window %d (%d of %d layers)\n", c.Window, n, c.NumHiddenLayers)
			}
			if f := c.Features(); f != "" {
				fmt.Fprintf(w, "block          %s\n", f)
			}
			fmt.Fprintf(w, "tied embedding %v\n", c.Tied)
			fmt.Fprintf(w, "norm eps       %g\n", c.NormEps)
			fmt.Fprintf(w, "tokenizer      %s\n", orNone(s.Tokenizer))
			return nil
		},
	})
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
