package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ardanlabs/jinja"
)

// ErrNoTemplate is returned (wrapped) by Load when a model folder has no chat template.
var ErrNoTemplate = errors.New("the model has no chat template")

// Template is a model's chat template, compiled, with the special tokens it is rendered with.
// It is safe for concurrent use.
type Template struct {
	Source        string // where it came from: "DIR/chat_template.jinja", "DIR/tokenizer_config.json (chat_template \"default\")"
	HasGeneration bool   // the template marks assistant output with {% generation %} blocks

	tmpl    *jinja.Template
	toolUse *Template              // tokenizer_config.json's "tool_use" template, when the default was chosen implicitly
	special map[string]jinja.Value // the special-token variables
}

// specialTokenKeys are the tokenizer_config.json keys passed to templates as variables, in order.
var specialTokenKeys = []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}

// Load reads the chat template of a model folder: chat_template.jinja (or, for a name,
// additional_chat_templates/NAME.jinja), else "chat_template" in tokenizer_config.json. name
// selects one of several named templates ("" = "default", or "tool_use" for conversations with
// tools when the model has one). A folder without a template gives an error wrapping
// ErrNoTemplate.
func Load(dir, name string) (*Template, error) {
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	raw := map[string]json.RawMessage{}
	b, err := os.ReadFile(cfgPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("chat: %w", err)
	default:
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("chat: %s: invalid JSON: %v", cfgPath, err)
		}
	}
	special, err := specialTokens(cfgPath, raw)
	if err != nil {
		return nil, err
	}
	parse := func(src, from string) (*Template, error) {
		t, err := Parse(src, from)
		if err != nil {
			return nil, err
		}
		t.special = special
		return t, nil
	}

	file := filepath.Join(dir, "chat_template.jinja")
	if name != "" && name != "default" {
		file = filepath.Join(dir, "additional_chat_templates", name+".jinja")
	}
	if src, err := os.ReadFile(file); err == nil {
		return parse(string(src), file)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("chat: %w", err)
	}

	ct, ok := raw["chat_template"]
	if !ok || string(ct) == "null" {
		if name != "" && name != "default" {
			return nil, fmt.Errorf("chat: %s: no chat template named %q (%w)", dir, name, ErrNoTemplate)
		}
		return nil, fmt.Errorf("chat: %s: no chat_template.jinja and no \"chat_template\" in tokenizer_config.json (%w)", dir, ErrNoTemplate)
	}
	var single string
	if err := json.Unmarshal(ct, &single); err == nil {
		if name != "" && name != "default" {
			return nil, fmt.Errorf("chat: %s: \"chat_template\" is a single template; there is no template named %q", cfgPath, name)
		}
		return parse(single, cfgPath+" (chat_template)")
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(ct, &list); err != nil {
		return nil, fmt.Errorf("chat: %s: \"chat_template\" must be a string or a list of {\"name\", \"template\"} objects", cfgPath)
	}
	named := map[string]string{}
	var names []string
	for _, t := range list {
		named[t.Name] = t.Template
		names = append(names, t.Name)
	}
	sort.Strings(names)
	want := name
	if want == "" {
		want = "default"
	}
	src, ok := named[want]
	if !ok {
		return nil, fmt.Errorf("chat: %s: no chat template named %q (it has %s); choose one by name", cfgPath, want, strings.Join(names, ", "))
	}
	t, err := parse(src, fmt.Sprintf("%s (chat_template %q)", cfgPath, want))
	if err != nil {
		return nil, err
	}
	if tu, ok := named["tool_use"]; ok && name == "" {
		if t.toolUse, err = parse(tu, fmt.Sprintf("%s (chat_template %q)", cfgPath, "tool_use")); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Parse compiles template source; from names it in errors.
func Parse(src, from string) (*Template, error) {
	code, gen, err := rewrite(src)
	if err != nil {
		return nil, fmt.Errorf("chat: %s: %v", from, err)
	}
	tmpl, err := jinja.Compile(code)
	if err != nil {
		return nil, fmt.Errorf("chat: %s: %v", from, err)
	}
	return &Template{Source: from, HasGeneration: gen, tmpl: tmpl, special: map[string]jinja.Value{}}, nil
}

// specialTokens reads the special-token variables of tokenizer_config.json: strings or
// {"content": ...} objects, kept when non-empty; additional_special_tokens as a list of strings.
func specialTokens(path string, raw map[string]json.RawMessage) (map[string]jinja.Value, error) {
	out := map[string]jinja.Value{}
	token := func(key string, b json.RawMessage) (string, error) {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s, nil
		}
		var obj struct {
			Content *string `json:"content"`
		}
		if json.Unmarshal(b, &obj) == nil && obj.Content != nil {
			return *obj.Content, nil
		}
		if string(b) == "null" {
			return "", nil
		}
		return "", fmt.Errorf("chat: %s: %q must be a string or an object with \"content\"", path, key)
	}
	for _, k := range specialTokenKeys {
		b, ok := raw[k]
		if !ok {
			continue
		}
		s, err := token(k, b)
		if err != nil {
			return nil, err
		}
		if s != "" {
			out[k] = jinja.NewString(s)
		}
	}
	if b, ok := raw["additional_special_tokens"]; ok && string(b) != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("chat: %s: \"additional_special_tokens\" must be a list", path)
		}
		items := []jinja.Value{}
		for i, e := range list {
			s, err := token(fmt.Sprintf("additional_special_tokens[%d]", i), e)
			if err != nil {
				return nil, err
			}
			items = append(items, jinja.NewString(s))
		}
		if len(items) > 0 {
			out["additional_special_tokens"] = jinja.NewList(items)
		}
	}
	return out, nil
}
