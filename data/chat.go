package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moslora/moslora/chat"
)

// ChatRow is a conversational row kept as JSON for the model's chat template: a messages row
// (Conv) or TRL's conversational prompt/completion row (Prompt and Completion, message lists).
type ChatRow struct {
	Conv               *chat.Conversation // messages row (with its "tools", when given)
	Prompt, Completion *chat.Conversation // TRL prompt/completion row
}

// ChatTokenizer is a Tokenizer with the model's chat template: Encode renders conversational rows
// with Template (see the package documentation).
type ChatTokenizer struct {
	Tokenizer
	Template *chat.Template
}

// WithChatTemplate returns tok with the chat template of the model folder dir, or tok itself when
// the model has none (conversational rows then use the documented "### " format).
func WithChatTemplate(tok Tokenizer, dir string) (Tokenizer, error) {
	t, err := chat.Load(dir, "")
	if errors.Is(err, chat.ErrNoTemplate) {
		return tok, nil
	}
	if err != nil {
		return nil, err
	}
	return ChatTokenizer{Tokenizer: tok, Template: t}, nil
}

// chatKeys are the keys a conversational row may have.
var chatKeys = []string{"completion", "domain", "messages", "prompt", "task", "tools"}

// parseChat parses a conversational row: one with "messages", or with a "prompt" or "completion"
// that is a list of messages. ok is false for every other line (ParseLine handles those).
func parseChat(b []byte) (r Row, ok bool, err error) {
	if !bytes.Contains(b, []byte(`"messages"`)) && !bytes.Contains(b, []byte(`"prompt"`)) && !bytes.Contains(b, []byte(`"completion"`)) {
		return Row{}, false, nil // the common text row: no second parse
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return Row{}, false, nil
	}
	isList := func(k string) bool { v := bytes.TrimSpace(raw[k]); return len(v) > 0 && v[0] == '[' }
	if _, m := raw["messages"]; !m && !isList("prompt") && !isList("completion") {
		return Row{}, false, nil
	}
	for k := range raw {
		if i := sort.SearchStrings(chatKeys, k); i == len(chatKeys) || chatKeys[i] != k {
			return Row{}, true, fmt.Errorf(`unknown field %q in a chat row (expected "messages", or "prompt" and "completion" message lists; "tools", "task", "domain")`, k)
		}
	}
	for _, k := range []string{"task", "domain"} {
		if v, ok := raw[k]; ok {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return Row{}, true, fmt.Errorf("%q must be a string", k)
			}
			if k == "task" {
				r.Task = s
			} else {
				r.Domain = s
			}
		}
	}
	conv := func(key string) (*chat.Conversation, error) {
		obj := map[string]json.RawMessage{"messages": raw[key]}
		if t, ok := raw["tools"]; ok {
			obj["tools"] = t
		}
		js, _ := json.Marshal(obj)
		c, err := chat.ParseConversation(js)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", key, strings.TrimPrefix(err.Error(), `"messages" `))
		}
		if c.Len() == 0 {
			return nil, fmt.Errorf("%q is empty", key)
		}
		return c, nil
	}
	var ch ChatRow
	if _, m := raw["messages"]; m {
		if _, p := raw["prompt"]; p {
			return Row{}, true, errors.New(`"messages" and "prompt"/"completion" are exclusive shapes; found both`)
		}
		if _, c := raw["completion"]; c {
			return Row{}, true, errors.New(`"messages" and "prompt"/"completion" are exclusive shapes; found both`)
		}
		if ch.Conv, err = conv("messages"); err != nil {
			return Row{}, true, err
		}
		if !hasRole(ch.Conv, RoleAssistant) {
			return Row{}, true, errors.New(`"messages" has no assistant message (nothing to learn)`)
		}
		r.Messages = plainMessages(ch.Conv)
	} else {
		if !isList("prompt") || !isList("completion") {
			return Row{}, true, errors.New(`a conversational row needs "prompt" and "completion" both as lists of messages`)
		}
		if ch.Prompt, err = conv("prompt"); err != nil {
			return Row{}, true, err
		}
		if ch.Completion, err = conv("completion"); err != nil {
			return Row{}, true, err
		}
		r.Messages = plainMessages(ch.Prompt.Concat(ch.Completion))
	}
	r.Chat = &ch
	return r, true, nil
}

func hasRole(c *chat.Conversation, role string) bool {
	for i := range c.Len() {
		if c.Role(i) == role {
			return true
		}
	}
	return false
}

// plainMessages is c as role + string content, or nil when a message has another content (a list,
// null) or more keys (tool_calls, name, ...) — such rows need the model's chat template.
func plainMessages(c *chat.Conversation) []Message {
	out := make([]Message, c.Len())
	for i := range out {
		s, ok := c.Content(i)
		if !ok || len(c.Keys(i)) != 2 {
			return nil
		}
		out[i] = Message{Role: c.Role(i), Content: s}
	}
	return out
}

// encodeChat encodes a conversational row. Without a template it uses the "### " format of
// plain messages (ok false for messages rows: Encode's own messages branch does it).
func encodeChat(tok Tokenizer, r *Row, maxLen int) (ex Example, ok bool, err error) {
	ct, hasTemplate := tok.(ChatTokenizer)
	if !hasTemplate || ct.Template == nil {
		if r.Messages == nil {
			return Example{}, true, fmt.Errorf(`data: %s:%d: a message has more than a "role" and a text "content" (tool calls, a content list, a name), which needs the model's chat template; this model has none`, r.File, r.Line)
		}
		if r.Chat.Conv != nil {
			return Example{}, false, nil
		}
		// TRL prompt/completion without a template: the "### " format, loss on the completion.
		var b builder
		bos := tok.AddBOS() && tok.BOS() >= 0
		if bos {
			b.add([]int{tok.BOS()}, false)
		}
		if err := addMessages(tok, &b, r.Messages, r.Chat.Prompt.Len()); err != nil {
			return Example{}, true, fmt.Errorf("data: %s:%d: %v", r.File, r.Line, err)
		}
		ex := Example{IDs: b.ids, Labels: b.labels}
		Truncate(&ex, maxLen, bos)
		return ex, true, nil
	}
	text, spans, err := renderForTraining(ct.Template, r.Chat)
	if err != nil {
		return Example{}, true, fmt.Errorf("data: %s:%d: %w", r.File, r.Line, err)
	}
	if len(spans) == 0 {
		return Example{}, true, fmt.Errorf("data: %s:%d: the chat template rendered no assistant text to learn", r.File, r.Line)
	}
	// The template writes every special token (BOS, end of turn) itself: no post-processor tokens,
	// as transformers' apply_chat_template(tokenize=True) encodes without special tokens. Each
	// piece is tokenized separately, so no token straddles the edge of a trained span.
	var b builder
	at := 0
	for _, s := range spans {
		b.add(tok.Encode(text[at:s[0]], false), false)
		b.add(tok.Encode(text[s[0]:s[1]], false), true)
		at = s[1]
	}
	b.add(tok.Encode(text[at:], false), false)
	ex = Example{IDs: b.ids, Labels: b.labels}
	Truncate(&ex, maxLen, len(ex.IDs) > 0 && ex.IDs[0] == tok.BOS())
	return ex, true, nil
}

// renderForTraining renders a conversational row with the model's template and returns the byte
// ranges of the text that take loss:
//   - messages, template with {% generation %} blocks: those blocks;
//   - messages, otherwise: each assistant message i, found by rendering prefixes. It starts where
//     the whole render F parts from render(messages[:i], add_generation_prompt) — so the header
//     the generation prompt writes takes no loss — and ends where render(messages[:i+1]) ends,
//     less the template's trailer (text it writes after every conversation, like Phi-3's EOS),
//     which must be a prefix of F;
//   - TRL prompt/completion: the completion, which starts as an assistant message would.
//
// A turn that renders differently once later turns follow (Qwen3 drops the thinking of turns before
// the last user message) is found by anchoring its content instead (anchorTurn). Every span is
// checked to hold its message's content; what cannot be located is an error naming the message,
// never a silently wrong mask. Each span ends at its last non-space character: the
// newline a template writes after an end-of-turn token is context, as in the {% generation %}
// markup of TRL's training templates.
func renderForTraining(t *chat.Template, ch *ChatRow) (string, [][2]int, error) {
	c, first := ch.Conv, 0
	if ch.Prompt != nil {
		c, first = ch.Prompt.Concat(ch.Completion), ch.Prompt.Len()
	}
	full, err := render(t, c, false)
	if err != nil {
		return "", nil, err
	}
	if t.HasGeneration && ch.Prompt == nil {
		return full.Text, trimSpans(full.Generation, full.Text), nil
	}
	F := full.Text
	tail := trailer(t, c)
	var spans [][2]int
	for i := first; i < c.Len(); i++ {
		if ch.Prompt == nil && c.Role(i) != RoleAssistant {
			continue
		}
		gen, err := render(t, c.Prefix(i), true)
		if err != nil {
			return "", nil, err
		}
		start := commonPrefix(gen.Text, F)
		upto := full
		if i < c.Len()-1 && ch.Prompt == nil {
			if upto, err = render(t, c.Prefix(i+1), false); err != nil {
				return "", nil, err
			}
		}
		body := strings.TrimSuffix(upto.Text, tail) // the turn ends where the trailer begins
		var end int
		if strings.HasPrefix(F, body) {
			end = len(body)
			if s, ok := c.Content(i); ok && !strings.Contains(F[min(start, end):end], visible(s)) {
				return "", nil, fmt.Errorf("the chat template (%s) does not render messages[%d]'s content where rendering prefixes places it, so the assistant turn cannot be located; use a template with {%% generation %%} blocks", t.Source, i)
			}
		} else { // the turn renders differently inside the conversation (Qwen3): anchor its content
			q, e, err := anchorTurn(t, c, i, F, tail)
			if err != nil {
				return "", nil, fmt.Errorf("the chat template (%s) renders messages[:%d] differently from the same messages inside the whole conversation, so assistant messages[%d] cannot be located by rendering prefixes (%v); use a template with {%% generation %%} blocks, or rows with one assistant turn at the end", t.Source, i+1, i, err)
			}
			if q >= 0 {
				start = min(start, q)
			}
			end = e
		}
		if start > end {
			return "", nil, fmt.Errorf("the chat template (%s) renders assistant messages[%d] before the text that precedes it; use a template with {%% generation %%} blocks", t.Source, i)
		}
		spans = append(spans, [2]int{start, end})
		if ch.Prompt != nil {
			break // one span: the whole completion
		}
	}
	return F, trimSpans(spans, F), nil
}

// nextUser is the message trailer appends to an empty conversation.
var nextUser, _ = chat.ParseMessages([]byte(`[{"role": "user", "content": "?"}]`))

// visible is the part of an assistant message's content that every template renders: reasoning
// templates (Qwen3, DeepSeek-R1) move or drop the thinking before "</think>".
func visible(content string) string {
	if k := strings.LastIndex(content, "</think>"); k >= 0 {
		content = content[k+len("</think>"):]
	}
	return strings.TrimSpace(content)
}

// anchor marks a message's content to find where a template puts it (a private-use character).
const anchor = "\uE002"

// anchorTurn locates assistant message i inside F, the render of c, when rendering prefixes
// cannot (the template renders the turn differently once later turns follow): its content ends
// where the render with an anchor after it puts the anchor, and starts where the render with an
// anchor before it does (start -1 when the template drops that part, as reasoning templates drop
// the thinking of earlier turns); each render must equal F once the anchor is removed. The turn
// runs past the content for as far as F agrees with what the render of messages[:i+1] writes after
// the same content (the end-of-turn tokens), less the trailer.
func anchorTurn(t *chat.Template, c *chat.Conversation, i int, F, tail string) (start, end int, err error) {
	content, ok := c.Content(i)
	if !ok || strings.Contains(content, anchor) {
		return 0, 0, errors.New("its content is not plain text")
	}
	find := func(conv *chat.Conversation, whole string) (int, error) {
		r, err := render(t, conv, false)
		if err != nil {
			return 0, err
		}
		k := strings.Index(r.Text, anchor)
		if k < 0 || strings.Count(r.Text, anchor) != 1 || whole != "" && r.Text[:k]+r.Text[k+len(anchor):] != whole {
			return 0, errors.New("the template does not write the content as given")
		}
		return k, nil
	}
	if start, err = find(c.WithContent(i, anchor+content), F); err != nil {
		start = -1
	}
	if end, err = find(c.WithContent(i, content+anchor), F); err != nil {
		return 0, 0, err
	}
	own := c.Prefix(i+1).WithContent(i, content+anchor)
	r, err := render(t, own, false)
	if err != nil {
		return 0, 0, err
	}
	k := strings.Index(r.Text, anchor)
	if k < 0 || start > end {
		return 0, 0, errors.New("the template does not write the content as given")
	}
	after := strings.TrimSuffix(r.Text[k+len(anchor):], tail)
	return start, end + commonPrefix(after, F[end:]), nil
}

// trailer is the text a template writes after the last message of every conversation rendered
// without the generation prompt (Phi-3: EOS; the hf.js copy of Llama 3: the assistant header), or
// "" when it writes none or cannot tell: the render of no messages is then a prefix of the render
// of one user message. c gives the tools and variables.
func trailer(t *chat.Template, c *chat.Conversation) string {
	empty, err := render(t, c.Prefix(0), false)
	if err != nil {
		return ""
	}
	one, err := render(t, c.Prefix(0).Concat(nextUser), false)
	if err != nil || strings.HasPrefix(one.Text, empty.Text) {
		return ""
	}
	n := 0 // the longest common suffix
	for n < len(empty.Text) && n < len(one.Text) && empty.Text[len(empty.Text)-1-n] == one.Text[len(one.Text)-1-n] {
		n++
	}
	for n > 0 && !utf8.RuneStart(empty.Text[len(empty.Text)-n]) {
		n--
	}
	return empty.Text[len(empty.Text)-n:]
}

// commonPrefix is the length of the common prefix of a and b, backed off to a character boundary.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	return n
}

// render renders c with or without the generation prompt, never modifying c.
func render(t *chat.Template, c *chat.Conversation, generationPrompt bool) (chat.Rendered, error) {
	cc := *c
	cc.AddGenerationPrompt, cc.ContinueFinalMessage = generationPrompt, false
	return t.Render(&cc)
}

// trimSpans ends each span at its last non-space character and drops spans left empty.
func trimSpans(spans [][2]int, text string) [][2]int {
	var out [][2]int
	for _, s := range spans {
		end := s[0] + len(strings.TrimRightFunc(text[s[0]:s[1]], unicode.IsSpace))
		if end > s[0] {
			out = append(out, [2]int{s[0], end})
		}
	}
	return out
}
