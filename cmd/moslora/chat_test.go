package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/chat"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/tokenizer"
)

// TestTokenizeChatRendersFixtureCases: `tokenize --chat CASE.json --render` prints each template's
// first cases exactly as transformers rendered them, and expected errors fail the command with the
// template's message.
func TestTokenizeChatRendersFixtureCases(t *testing.T) {
	root := shared.Path(t, "fixtures", "chat")
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "cases.json"))
	if len(dirs) == 0 {
		t.Fatal("no fixture templates")
	}
	tmp := t.TempDir()
	for _, cf := range dirs {
		dir := filepath.Dir(cf)
		var cases []json.RawMessage
		shared.ReadJSON(t, cf, &cases)
		for k, raw := range cases[:min(4, len(cases))] {
			var c struct {
				ID       string  `json:"id"`
				Expected *string `json:"expected"`
				Error    *string `json:"error"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(tmp, filepath.Base(dir)+itoa(k)+".json")
			if err := os.WriteFile(file, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runCLI(t, "tokenize", "--model", dir, "--chat", file, "--render")
			switch {
			case c.Expected != nil && (err != nil || out != *c.Expected):
				t.Errorf("%s/%s: printed %q (%v), want %q", filepath.Base(dir), c.ID, out, err, *c.Expected)
			case c.Error != nil && (err == nil || !strings.Contains(err.Error(), *c.Error)):
				t.Errorf("%s/%s: error %v, want one saying %q", filepath.Base(dir), c.ID, err, *c.Error)
			}
		}
	}
}

// chatModel is a copy of the embedded default model's folder (symlinks) with a ChatML template.
func chatModel(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "defaults", "model"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}" +
		"{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}\n"
	if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestChatIDsAreTheRenderedTextEncoded: tokenize --chat prints the ids of the rendered text
// (encoded without added special tokens), and generate --chat starts from the same conversation
// with the generation prompt added.
func TestChatIDsAreTheRenderedTextEncoded(t *testing.T) {
	dir := chatModel(t)
	conv := filepath.Join(t.TempDir(), "conv.json")
	js := `{"messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Capital of France?"}]}`
	if err := os.WriteFile(conv, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := chat.ParseConversation([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := tmpl.Render(c)
	c.AddGenerationPrompt = true
	withPrompt, _ := tmpl.Render(c)

	out, err := runCLI(t, "tokenize", "--model", dir, "--chat", conv, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		IDs []int `json:"ids"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if want := tok.Encode(plain.Text, false); !slices.Equal(got.IDs, want) {
		t.Errorf("tokenize --chat ids %v, want %v (the rendering %q)", got.IDs, want, plain.Text)
	}

	out, err = runCLI(t, "generate", "--model", dir, "--chat", conv, "--max-new-tokens", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if want := tok.Encode(withPrompt.Text, false); len(got.IDs) < len(want) || !slices.Equal(got.IDs[:len(want)], want) {
		t.Errorf("generate --chat ids %v, want them to start with %v (%q)", got.IDs, want, withPrompt.Text)
	}

	if _, err := runCLI(t, "generate", "--model", dir, "--chat", conv, "extra prompt"); err == nil {
		t.Error("generate took both --chat and PROMPT")
	}
	if _, err := runCLI(t, "tokenize", "--model", "../../defaults/model", "--chat", conv, "--render"); err == nil || !strings.Contains(err.Error(), "no chat template") {
		t.Errorf("a model without a template: %v, want a 'no chat template' error", err)
	}
}
