package main

import (
	"github.com/moslora/moslora/bench"
	"github.com/spf13/cobra"
)

// inferenceFlags are bench's --inference settings (threads, prompt and decode lengths and rounds
// are the --compare llamacpp flags).
type inferenceFlags struct {
	on      bool
	prompts int
}

func (f *inferenceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "inference", false, "measure the inference cost of each adapter method, unmerged and merged, relative to the base model (prompt and decode tokens/s)")
	fl.IntVar(&f.prompts, "prompts", bench.Batch, "--inference: prompts of --prompt-tokens in the forward pass timed for prompt tokens/s")
}

func (f *inferenceFlags) run(cmd *cobra.Command, o bench.Options, lc llamaCppFlags) error {
	io := bench.InferenceOptions{ModelDir: o.ModelDir, Models: bench.InferenceModels(o.Only), Threads: lc.o.Threads,
		Prompts: f.prompts, Prompt: lc.o.Prompt, Decode: lc.o.Decode, Rounds: lc.o.Rounds, JSON: o.JSON}
	return bench.RunInference(cmd.Context(), io, cmd.OutOrStdout(), cmd.ErrOrStderr())
}
