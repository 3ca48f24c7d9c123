package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/jobs"
	"github.com/spf13/cobra"
)

func init() {
	var modelDir, adapterDir, baseDtype string
	var merge, asJSON bool
	var seed int64
	var opt generate.Options
	var co chatOptions
	cmd := &cobra.Command{
		Use:   "generate --model DIR [--adapter DIR [--merge]] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--json] PROMPT | --chat CONV.json",
		Short: "Continue a prompt with the model (KV cache; greedy by default)",
		Long: `generate encodes PROMPT with the model's tokenizer (special tokens included, as
tokenizer.encode(prompt) does), then decodes until an end-of-sequence id (tokenizer and
generation_config.json), --max-new-tokens or the model's position limit. Greedy by default;
--temperature > 0 samples, restricted by --top-k and --top-p, reproducibly for a given --seed.
The prompt and the continuation stream to stdout; with --json it prints
{"ids": [prompt ids + generated ids], "text": "..."} instead. --adapter applies an adapter
unmerged (any mixer), or merged into the weights with --merge (identity, dense, global mixers).
--chat CONV.json replaces PROMPT by a conversation rendered with the model's chat template
(add_generation_prompt true unless the file says otherwise; see tokenize --help for the form).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (co.file == "") != (len(args) == 1) || len(args) > 1 {
				return fmt.Errorf("generate: give either PROMPT or --chat CONV.json")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.Seed = uint64(seed)
			if merge && adapterDir == "" {
				return fmt.Errorf("generate: --merge needs --adapter")
			}
			prompt, rendered := "", false
			if co.file != "" { // chat.go: the conversation rendered with the model's chat template
				text, err := co.conversation(cmd, modelDir, true)
				if err != nil {
					return err
				}
				prompt, rendered = text, true
			} else {
				prompt = args[0]
			}
			w := cmd.OutOrStdout()
			var onText func(string) error
			if !asJSON {
				onText = func(s string) error { _, err := io.WriteString(w, s); return err }
			}
			res, err := jobs.Generate(jobs.GenerateJob{Model: modelDir, Adapter: adapterDir, Merge: merge, BaseDtype: baseDtype, Prompt: prompt, Rendered: rendered, Options: opt}, onText)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				return enc.Encode(struct {
					IDs  []int  `json:"ids"`
					Text string `json:"text"`
				}{res.IDs, res.Text})
			}
			_, err = fmt.Fprintln(w)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "Hugging Face model folder (config.json, safetensors, tokenizer.json)")
	f.StringVar(&adapterDir, "adapter", "", "PEFT or MoSLoRA adapter folder to apply")
	f.BoolVar(&merge, "merge", false, "merge the adapter into the weights before generating (not for gated mixers)")
	f.StringVar(&baseDtype, "base-dtype", "auto", baseDtypeUsage)
	f.IntVar(&opt.MaxNewTokens, "max-new-tokens", 128, "maximum number of tokens to generate")
	f.Float64Var(&opt.Temperature, "temperature", 0, "sampling temperature (0 = greedy)")
	f.IntVar(&opt.TopK, "top-k", 0, "sample only from the K most likely tokens (0 = all)")
	f.Float64Var(&opt.TopP, "top-p", 1, "sample only from the smallest set of tokens with probability ≥ P (1 = all)")
	f.Int64Var(&seed, "seed", 0, "random seed for sampling")
	f.BoolVar(&asJSON, "json", false, `print {"ids": [...], "text": "..."} instead of streaming text`)
	co.addFlags(f, false)
	cmd.MarkFlagRequired("model")
	rootCmd.AddCommand(cmd)
}
