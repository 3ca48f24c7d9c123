package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moslora/moslora/tokenizer"
	"github.com/spf13/cobra"
)

func init() {
	var modelPath, file string
	var special, asJSON, jsonl bool
	var co chatOptions
	cmd := &cobra.Command{
		Use:   "tokenize --model DIR [--special] [--json] [--file F [--jsonl] | --chat CONV.json [--render] | TEXT]",
		Short: "Print the token ids and tokens of a text, as Hugging Face tokenizers encodes it",
		Long: `Encodes TEXT (or the contents of --file F, "-" for standard input) with the model's
tokenizer.json and prints its ids and tokens. --special applies the post-processor, as
add_special_tokens=True does (e.g. a leading BOS). --json prints one object
{"ids": [...], "tokens": [...], "decoded": "..."}. With --jsonl, every non-blank line of F is a
JSON string and one JSON object is printed per line. --model may also name a tokenizer.json file.

--chat CONV.json renders one conversation with the model's chat template as transformers'
apply_chat_template does and prints its ids (no special tokens added: the template writes them),
or with --render the rendered text itself. The file's form:
` + conversationForm + `.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if modelPath == "" {
				return errors.New("tokenize: --model is required")
			}
			if co.file != "" || co.render { // chat.go
				if co.file == "" || file != "" || len(args) > 0 || special || jsonl {
					return errors.New("tokenize: --chat takes no TEXT, --file, --special or --jsonl; --render needs --chat")
				}
				return co.tokenize(cmd, modelPath, asJSON)
			}
			if (file == "") == (len(args) == 0) {
				return errors.New("tokenize: give either TEXT or --file F")
			}
			if jsonl && file == "" {
				return errors.New("tokenize: --jsonl needs --file")
			}
			tok, err := tokenizer.Load(modelPath)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(args) == 1 {
				return printTokens(w, tok, args[0], special, asJSON)
			}
			in, closeIn, err := openInput(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer closeIn()
			if !jsonl {
				text, err := io.ReadAll(in)
				if err != nil {
					return fmt.Errorf("tokenize: %s: %w", file, err)
				}
				return printTokens(w, tok, string(text), special, asJSON)
			}
			sc := bufio.NewScanner(in)
			sc.Buffer(make([]byte, 1<<20), 1<<30)
			for line := 1; sc.Scan(); line++ {
				if strings.TrimSpace(sc.Text()) == "" {
					continue
				}
				var text string
				if err := json.Unmarshal(sc.Bytes(), &text); err != nil {
					return fmt.Errorf("tokenize: %s: line %d: expected a JSON string: %w", file, line, err)
				}
				if err := printTokens(w, tok, text, special, true); err != nil {
					return err
				}
			}
			if err := sc.Err(); err != nil {
				return fmt.Errorf("tokenize: %s: %w", file, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelPath, "model", "", "model folder holding tokenizer.json (and tokenizer_config.json), or a tokenizer.json file")
	f.BoolVar(&special, "special", false, "apply the post-processor (add_special_tokens=True)")
	f.BoolVar(&asJSON, "json", false, `print {"ids": [...], "tokens": [...], "decoded": "..."}`)
	f.StringVar(&file, "file", "", `read the text from this file ("-": standard input)`)
	f.BoolVar(&jsonl, "jsonl", false, "with --file: every line is a JSON string; print one JSON object per line")
	co.addFlags(f, true)
	rootCmd.AddCommand(cmd)
}

func openInput(file string, stdin io.Reader) (io.Reader, func(), error) {
	if file == "-" {
		return stdin, func() {}, nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenize: %w", err)
	}
	return fh, func() { fh.Close() }, nil
}

// printTokens writes the encoding of text, as one JSON object or as readable lines.
func printTokens(w io.Writer, tok *tokenizer.Tokenizer, text string, special, asJSON bool) error {
	ids, tokens := tok.EncodeWithTokens(text, special)
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			IDs     []int    `json:"ids"`
			Tokens  []string `json:"tokens"`
			Decoded string   `json:"decoded"`
		}{ids, tokens, tok.Decode(ids, false)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "count  %d\nids   ", len(ids))
	for _, id := range ids {
		fmt.Fprintf(&b, " %d", id)
	}
	b.WriteString("\ntokens")
	for _, t := range tokens {
		fmt.Fprintf(&b, " %q", t)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
