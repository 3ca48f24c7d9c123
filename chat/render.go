package chat

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/ardanlabs/jinja"
)

// TemplateError is the template's own raise_exception(msg).
type TemplateError struct {
	Source string // the template
	Msg    string // exactly the template's message
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("chat: the chat template (%s) rejected the conversation: %s", e.Source, e.Msg)
}

// ValueError is a conversation that apply_chat_template itself refuses (transformers raises
// ValueError with the same message).
type ValueError struct{ Msg string }

func (e *ValueError) Error() string { return "chat: " + e.Msg }

// Rendered is the output of one render.
type Rendered struct {
	Text string
	// Generation holds the byte ranges [start, end) of Text inside {% generation %} blocks, in
	// order (nil when the template has none).
	Generation [][2]int
}

// continueTag is what transformers appends to the final message under continue_final_message.
const continueTag = "CONTINUE_FINAL_MESSAGE_TAG"

// Render renders c as apply_chat_template(..., tokenize=False) does.
func (t *Template) Render(c *Conversation) (Rendered, error) {
	tmpl := t
	if t.toolUse != nil && c.HasTools() {
		tmpl = t.toolUse
	}
	messages := c.messages
	if c.ContinueFinalMessage {
		if c.AddGenerationPrompt {
			return Rendered{}, &ValueError{"continue_final_message and add_generation_prompt are not compatible. Use continue_final_message when you want the model to continue the final message, and add_generation_prompt when you want to add a header that will prompt it to start a new assistant message instead."}
		}
		var err error
		if messages, err = tagFinalMessage(messages); err != nil {
			return Rendered{}, err
		}
	}

	vars := globals(tmpl.Source, c.Now)
	for k, v := range t.special {
		vars[k] = v
	}
	for k, v := range c.vars {
		vars[k] = v
	}
	vars["messages"] = jinja.NewList(messages)
	vars["tools"] = c.tools
	vars["documents"] = c.documents
	vars["add_generation_prompt"] = jinja.NewBool(c.AddGenerationPrompt)

	out, err := execute(tmpl.tmpl, vars)
	if err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			return Rendered{}, te
		}
		return Rendered{}, fmt.Errorf("chat: rendering %s: %v", tmpl.Source, err)
	}
	r := Rendered{Text: out}
	if tmpl.HasGeneration {
		if r, err = extractGeneration(out); err != nil {
			return Rendered{}, fmt.Errorf("chat: rendering %s: %v", tmpl.Source, err)
		}
	}
	if c.ContinueFinalMessage {
		i := strings.LastIndex(r.Text, continueTag)
		if i < 0 {
			return Rendered{}, &ValueError{"continue_final_message is set but the final message does not appear in the chat after applying the chat template! This can happen if the chat template deletes portions of the final message. Please verify the chat template and final message in your chat to ensure they are compatible."}
		}
		if strings.HasPrefix(r.Text[i:], continueTag+" ") {
			r.Text = r.Text[:i]
		} else {
			r.Text = strings.TrimRightFunc(r.Text[:i], unicode.IsSpace)
		}
		r.Generation = clip(r.Generation, len(r.Text))
	}
	return r, nil
}

// tagFinalMessage returns messages with continueTag+" " appended to the final message's content
// (to its last text block when the content is a list), copying what it changes.
func tagFinalMessage(messages []jinja.Value) ([]jinja.Value, error) {
	if len(messages) == 0 {
		return nil, &ValueError{"continue_final_message is set but there are no messages"}
	}
	out := append([]jinja.Value(nil), messages...)
	last := copyValue(out[len(out)-1])
	out[len(out)-1] = last
	content, _ := last.AsDict().Get("content")
	switch {
	case content.IsString():
		last.AsDict().Set("content", jinja.NewString(content.AsString()+continueTag+" "))
		return out, nil
	case content.IsList():
		items := content.AsList().Items
		for i := len(items) - 1; i >= 0; i-- {
			if !items[i].IsDict() {
				continue
			}
			if txt, ok := items[i].AsDict().Get("text"); ok && txt.IsString() {
				items[i].AsDict().Set("text", jinja.NewString(txt.AsString()+continueTag+" "))
				return out, nil
			}
		}
		return nil, &ValueError{"continue_final_message is set but we could not find any text to continue in the final message!"}
	}
	return nil, &ValueError{fmt.Sprintf("continue_final_message is set but the final message's content is %s, not text", describe(content))}
}

// extractGeneration removes the generation markers from out and returns the ranges they enclosed.
func extractGeneration(out string) (Rendered, error) {
	var b strings.Builder
	var spans [][2]int
	open := -1
	for {
		s, e := strings.Index(out, genStart), strings.Index(out, genEnd)
		switch {
		case s < 0 && e < 0:
			b.WriteString(out)
			if open >= 0 {
				return Rendered{}, errors.New("a {% generation %} block is not closed")
			}
			return Rendered{Text: b.String(), Generation: spans}, nil
		case s >= 0 && (e < 0 || s < e):
			if open >= 0 {
				return Rendered{}, errors.New("{% generation %} blocks are nested")
			}
			b.WriteString(out[:s])
			open = b.Len()
			out = out[s+len(genStart):]
		default:
			if open < 0 {
				return Rendered{}, errors.New("{% endgeneration %} without {% generation %}")
			}
			b.WriteString(out[:e])
			if b.Len() > open {
				spans = append(spans, [2]int{open, b.Len()})
			}
			open = -1
			out = out[e+len(genEnd):]
		}
	}
}

// clip cuts spans to [0, n).
func clip(spans [][2]int, n int) [][2]int {
	var out [][2]int
	for _, s := range spans {
		if s[0] < n {
			out = append(out, [2]int{s[0], min(s[1], n)})
		}
	}
	return out
}

// execute runs the engine, turning a panic inside it (a template the engine mishandles) into an
// error: a bad template or conversation must never crash the program with a Go stack trace.
func execute(t *jinja.Template, vars map[string]jinja.Value) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the template engine failed: %v", p)
		}
	}()
	return t.RenderValues(vars)
}
