package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
	"github.com/spf13/cobra"
)

func init() {
	var modelDir, adapterDir string
	var merge, asJSON bool
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
			m, err := model.Load(modelDir)
			if err != nil {
				return err
			}
			if adapterDir != "" {
				a, err := adapter.Load(adapterDir, m)
				if err != nil {
					return err
				}
				if merge {
					if err := a.Merge(); err != nil {
						return err
					}
				}
			} else if merge {
				return fmt.Errorf("--merge needs --adapter")
			}
			tok, err := tokenizer.Load(modelDir)
			if err != nil {
				return err
			}
			if opt.StopIDs, err = generate.StopIDsFromModelDir(modelDir); err != nil {
				return err
			}
			if eos := tok.EOS(); eos >= 0 {
				opt.StopIDs = append(opt.StopIDs, eos)
			}
			var prompt []int
			if co.file != "" { // chat.go
				if prompt, err = co.prompt(cmd, modelDir, tok); err != nil {
					return err
				}
			} else {
				prompt = tok.Encode(args[0], true)
			}
			w := cmd.OutOrStdout()
			ts := generate.NewTextStream(tok, prompt)
			var onStep generate.StepFunc
			if !asJSON {
				if _, err := io.WriteString(w, ts.Text()); err != nil {
					return err
				}
				onStep = func(id int, _ []float32) error {
					_, err := io.WriteString(w, ts.Add(id))
					return err
				}
			}
			res, err := generate.Generate(m, prompt, opt, onStep)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				return enc.Encode(struct {
					IDs  []int  `json:"ids"`
					Text string `json:"text"`
				}{res.IDs, tok.Decode(res.IDs, true)})
			}
			_, err = fmt.Fprintln(w, ts.Flush())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "Hugging Face model folder (config.json, safetensors, tokenizer.json)")
	f.StringVar(&adapterDir, "adapter", "", "PEFT or MoSLoRA adapter folder to apply")
	f.BoolVar(&merge, "merge", false, "merge the adapter into the weights before generating (not for gated mixers)")
	f.IntVar(&opt.MaxNewTokens, "max-new-tokens", 128, "maximum number of tokens to generate")
	f.Float64Var(&opt.Temperature, "temperature", 0, "sampling temperature (0 = greedy)")
	f.IntVar(&opt.TopK, "top-k", 0, "sample only from the K most likely tokens (0 = all)")
	f.Float64Var(&opt.TopP, "top-p", 1, "sample only from the smallest set of tokens with probability ≥ P (1 = all)")
	f.Uint64Var(&opt.Seed, "seed", 0, "random seed for sampling")
	f.BoolVar(&asJSON, "json", false, `print {"ids": [...], "text": "..."} instead of streaming text`)
	co.addFlags(f, false)
	cmd.MarkFlagRequired("model")
	rootCmd.AddCommand(cmd)
}
