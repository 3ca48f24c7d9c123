package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"

	"github.com/moslora/moslora/hub"
	"github.com/spf13/cobra"
)

func init() {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "download org/name[@revision] [--json]",
		Short: "Download a model from the Hugging Face hub into the standard cache",
		Long: `Fetch the files a model needs (config.json, generation_config.json, the tokenizer files,
chat_template.jinja, and model.safetensors or model.safetensors.index.json with its shards) of a
revision (default main; a branch, tag or commit hash after @) into the Hugging Face cache, laid
out as Python's huggingface_hub lays it out, so transformers and moslora share the files. It
always asks the hub which commit the revision is now; files already in the cache are not fetched
again, a cut-off download resumes where it stopped, and every weights file is checked against
the hub's SHA-256. The snapshot folder is printed last; any --model flag also takes the name.

Environment (as huggingface_hub reads it):
  HF_HUB_CACHE    the cache (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
  HF_ENDPOINT     the hub (default https://huggingface.co)
  HF_TOKEN        token for gated and private models (else the file $HF_TOKEN_PATH, else $HF_HOME/token)
  HF_HUB_OFFLINE  1: no network; succeed only if the cache already holds the model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := hub.ParseName(args[0])
			if err != nil {
				return err
			}
			opt, err := hub.EnvOptions()
			if err != nil {
				return err
			}
			opt.Progress = cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			s, err := hub.Download(ctx, name, opt)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			fmt.Fprintf(w, "%s is commit %s: %d files, %d bytes downloaded now\n%s\n", name, s.Commit, len(s.Files), s.Downloaded, s.Dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"repo", "revision", "commit", "dir", "files", "downloaded"} as JSON`)
	rootCmd.AddCommand(cmd)
}
