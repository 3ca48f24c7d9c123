package chat

import (
	"fmt"
	"time"

	"github.com/ardanlabs/jinja"
)

// Conversation is what one render takes, in the form of a fixtures case (../shared/fixtures/chat):
//
//	{"messages": [...], "tools": [...]?, "documents": [...]?, "add_generation_prompt": false?,
//	 "continue_final_message": false?, "now": "2025-03-14T09:26:53"?, ...any other key: a variable}
//
// Messages, tools, documents and variables are JSON values with their key order and number kinds
// kept. A Conversation is never modified by rendering.
type Conversation struct {
	AddGenerationPrompt  bool
	ContinueFinalMessage bool
	Now                  time.Time // the clock of strftime_now; zero: time.Now() at render

	messages  []jinja.Value // (n) objects with a string "role"
	tools     jinja.Value   // none when absent
	documents jinja.Value   // none when absent
	vars      map[string]jinja.Value
}

// caseKeys are the keys of a case that are not template variables.
var caseKeys = map[string]bool{
	"messages": true, "tools": true, "documents": true, "add_generation_prompt": true,
	"continue_final_message": true, "now": true,
	// the fixtures' bookkeeping
	"id": true, "note": true, "expected": true, "error": true, "error_type": true,
}

// nowLayout is the form of "now": local time, no zone (Python's datetime.isoformat()).
const nowLayout = "2006-01-02T15:04:05"

// ParseConversation parses a conversation in case form (see Conversation).
func ParseConversation(b []byte) (*Conversation, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if !v.IsDict() {
		return nil, fmt.Errorf("expected a JSON object with \"messages\", got %s", describe(v))
	}
	d := v.AsDict()
	msgs, ok := d.Get("messages")
	if !ok {
		return nil, fmt.Errorf(`missing "messages" (a list of {"role", "content"} objects)`)
	}
	c, err := newConversation(msgs)
	if err != nil {
		return nil, err
	}
	if t, ok := d.Get("tools"); ok && !t.IsNone() {
		if !t.IsList() {
			return nil, fmt.Errorf(`"tools" must be a list, not %s`, describe(t))
		}
		c.tools = t
	}
	if t, ok := d.Get("documents"); ok && !t.IsNone() {
		if !t.IsList() {
			return nil, fmt.Errorf(`"documents" must be a list, not %s`, describe(t))
		}
		c.documents = t
	}
	for _, k := range []string{"add_generation_prompt", "continue_final_message"} {
		f, ok := d.Get(k)
		if !ok || f.IsNone() {
			continue
		}
		if !f.IsBool() {
			return nil, fmt.Errorf("%q must be true or false, not %s", k, describe(f))
		}
		if k == "add_generation_prompt" {
			c.AddGenerationPrompt = f.AsBool()
		} else {
			c.ContinueFinalMessage = f.AsBool()
		}
	}
	if n, ok := d.Get("now"); ok && !n.IsNone() {
		if !n.IsString() {
			return nil, fmt.Errorf(`"now" must be a string like %q, not %s`, nowLayout, describe(n))
		}
		if c.Now, err = time.Parse(nowLayout, n.AsString()); err != nil {
			return nil, fmt.Errorf(`"now" %q: expected local time like %q`, n.AsString(), nowLayout)
		}
	}
	for _, k := range d.Keys {
		if !caseKeys[k] {
			c.vars[k] = d.Data[k]
		}
	}
	return c, nil
}

// ParseMessages parses a JSON list of messages into a conversation with no tools or variables.
func ParseMessages(b []byte) (*Conversation, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return newConversation(v)
}

func newConversation(msgs jinja.Value) (*Conversation, error) {
	if !msgs.IsList() {
		return nil, fmt.Errorf(`"messages" must be a list of {"role", "content"} objects, not %s`, describe(msgs))
	}
	for i, m := range msgs.AsList().Items {
		if !m.IsDict() {
			return nil, fmt.Errorf(`messages[%d] must be an object with "role" and "content", not %s`, i, describe(m))
		}
		r, ok := m.AsDict().Get("role")
		if !ok || !r.IsString() {
			return nil, fmt.Errorf(`messages[%d] has no "role" string`, i)
		}
	}
	return &Conversation{
		messages:  msgs.AsList().Items,
		tools:     jinja.None(),
		documents: jinja.None(),
		vars:      map[string]jinja.Value{},
	}, nil
}

// Len is the number of messages.
func (c *Conversation) Len() int { return len(c.messages) }

// Role is the role of message i.
func (c *Conversation) Role(i int) string {
	r, _ := c.messages[i].AsDict().Get("role")
	return r.AsString()
}

// Content is the content of message i when it is a string (ok false for lists, null or absent).
func (c *Conversation) Content(i int) (s string, ok bool) {
	v, _ := c.messages[i].AsDict().Get("content")
	if !v.IsString() {
		return "", false
	}
	return v.AsString(), true
}

// Keys are the keys of message i, in order.
func (c *Conversation) Keys(i int) []string { return c.messages[i].AsDict().OrderedKeys() }

// Prefix returns the conversation of the first n messages, with the same tools, documents and
// variables and no generation prompt or continuation.
func (c *Conversation) Prefix(n int) *Conversation {
	p := *c
	p.messages = c.messages[:n:n]
	p.AddGenerationPrompt, p.ContinueFinalMessage = false, false
	return &p
}

// Concat returns c's messages followed by o's, with c's tools, documents and variables.
func (c *Conversation) Concat(o *Conversation) *Conversation {
	p := *c
	p.messages = append(append([]jinja.Value(nil), c.messages...), o.messages...)
	return &p
}

// WithContent returns c with message i's content replaced by the string s (c is unchanged).
func (c *Conversation) WithContent(i int, s string) *Conversation {
	p := *c
	p.messages = append([]jinja.Value(nil), c.messages...)
	m := copyValue(c.messages[i])
	m.AsDict().Set("content", jinja.NewString(s))
	p.messages[i] = m
	return &p
}

// HasTools reports whether the conversation carries tools.
func (c *Conversation) HasTools() bool { return !c.tools.IsNone() }
