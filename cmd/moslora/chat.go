package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/moslora/moslora/chat"
	"github.com/moslora/moslora/tokenizer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// chatOptions are the --chat flags shared by tokenize and generate: one conversation file rendered
// with the model's chat template.
type chatOptions struct {
	file     string // conversation in the fixtures' case form; "-" = standard input
	template string // named template ("" = default)
	render   bool   // tokenize: print the rendered text instead of ids
}

// conversationForm is the --chat file's form, for --help.
const conversationForm = `{"messages": [{"role": "user", "content": "..."}, ...], "tools": [...], "documents": [...],
"add_generation_prompt": true, "continue_final_message": false, "now": "2025-03-14T09:26:53",
"enable_thinking": false}: every key but messages is optional; "now" pins strftime_now's clock and
any other key is a template variable`

func (o *chatOptions) addFlags(f *pflag.FlagSet, withRender bool) {
	f.StringVar(&o.file, "chat", "", `render this conversation file ("-": standard input) with the model's chat template`)
	f.StringVar(&o.template, "chat-template", "", `with --chat: the named template of a model that has several (default "default", or "tool_use" when the conversation has tools)`)
	if withRender {
		f.BoolVar(&o.render, "render", false, "with --chat: print the rendered text (exactly, no newline added) instead of the ids")
	}
}

// conversation reads the --chat file and renders it with the chat template of modelDir.
// generationPrompt, when true, sets add_generation_prompt unless the file sets it or asks for
// continue_final_message.
func (o *chatOptions) conversation(cmd *cobra.Command, modelDir string, generationPrompt bool) (string, error) {
	var b []byte
	var err error
	if o.file == "-" {
		b, err = io.ReadAll(cmd.InOrStdin())
	} else {
		b, err = os.ReadFile(o.file)
	}
	if err != nil {
		return "", fmt.Errorf("--chat: %w", err)
	}
	conv, err := chat.ParseConversation(b)
	if err != nil {
		return "", fmt.Errorf("--chat %s: %v", o.file, err)
	}
	if generationPrompt && !conv.ContinueFinalMessage {
		var keys map[string]json.RawMessage
		if json.Unmarshal(b, &keys) == nil {
			if _, set := keys["add_generation_prompt"]; !set {
				conv.AddGenerationPrompt = true
			}
		}
	}
	tmpl, err := chat.Load(modelDir, o.template)
	if err != nil {
		return "", err
	}
	r, err := tmpl.Render(conv)
	if err != nil {
		return "", err
	}
	return r.Text, nil
}

// tokenize is `moslora tokenize --chat`: the rendered text, or its ids (encoded without added
// special tokens, as apply_chat_template(tokenize=True) does: the template writes them).
func (o *chatOptions) tokenize(cmd *cobra.Command, modelDir string, asJSON bool) error {
	text, err := o.conversation(cmd, modelDir, false)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if o.render {
		if asJSON {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			return enc.Encode(struct {
				Text string `json:"text"`
			}{text})
		}
		_, err := io.WriteString(w, text)
		return err
	}
	tok, err := tokenizer.Load(modelDir)
	if err != nil {
		return err
	}
	return printTokens(w, tok, text, false, asJSON)
}
