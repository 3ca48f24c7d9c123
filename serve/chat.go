package serve

import (
	"encoding/json"
	"fmt"

	"github.com/moslora/moslora/chat"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/tokenizer"
)

// Message is one chat message.
type Message struct {
	Role    string
	Content string
}

// ChatTemplate turns a conversation into the prompt ids that make the model write the next
// assistant message (add_generation_prompt): the model's own template (ModelChat) when its folder
// has one, else the project's format (ProjectChat).
type ChatTemplate interface {
	Prompt(msgs []Message) ([]int, error)
}

// ProjectChat is the project's documented chat format (package data, "Chat format"), the format
// adapters fine-tuned on messages rows learned:
//
//	[BOS] "### System:\n" content "\n"  "### User:\n" content "\n"  "### Assistant:" " " content EOS "\n" …
//
// each piece tokenized separately; the prompt ends with the header "### Assistant:".
type ProjectChat struct{ Tok *tokenizer.Tokenizer }

// Prompt implements ChatTemplate.
func (p ProjectChat) Prompt(msgs []Message) ([]int, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("messages is empty")
	}
	var ids []int
	if p.Tok.AddBOS() && p.Tok.BOS() >= 0 {
		ids = append(ids, p.Tok.BOS())
	}
	eos := p.Tok.EOS()
	for i, m := range msgs {
		switch m.Role {
		case "system", "developer":
			ids = append(ids, p.Tok.Encode("### System:\n"+m.Content+"\n", false)...)
		case "user":
			ids = append(ids, p.Tok.Encode("### User:\n"+m.Content+"\n", false)...)
		case "assistant":
			ids = append(ids, p.Tok.Encode("### Assistant:", false)...)
			ids = append(ids, p.Tok.Encode(" "+m.Content, false)...)
			if eos >= 0 {
				ids = append(ids, eos)
			}
			ids = append(ids, p.Tok.Encode("\n", false)...)
		default:
			return nil, fmt.Errorf("messages[%d].role %q is not one of system, developer, user, assistant", i, m.Role)
		}
	}
	return append(ids, p.Tok.Encode("### Assistant:", false)...), nil
}

// ModelChat renders with the model's own chat template (package chat, as transformers'
// apply_chat_template with add_generation_prompt) and encodes the text without added special
// tokens: the template writes them.
type ModelChat struct {
	Template *chat.Template
	Tok      *tokenizer.Tokenizer
}

// Prompt implements ChatTemplate.
func (c ModelChat) Prompt(msgs []Message) ([]int, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("messages is empty")
	}
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	list := make([]msg, len(msgs))
	for i, m := range msgs {
		list[i] = msg{m.Role, m.Content}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	conv, err := chat.ParseMessages(b)
	if err != nil {
		return nil, err
	}
	conv.AddGenerationPrompt = true
	r, err := c.Template.Render(conv)
	if err != nil {
		return nil, err
	}
	return c.Tok.Encode(r.Text, false), nil
}

// chatTemplateFor is the model folder's chat template when it has one, else the project's format.
func chatTemplateFor(op *jobs.Opened) (ChatTemplate, string) {
	if ct, ok := op.Encoder.(data.ChatTokenizer); ok { // the folder's template, as jobs.Open read it
		return ModelChat{Template: ct.Template, Tok: op.Tokenizer}, ct.Template.Source
	}
	return ProjectChat{op.Tokenizer}, "project format (### User: / ### Assistant:)"
}
