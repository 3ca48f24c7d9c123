package chat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, src string) *Template {
	t.Helper()
	tmpl, err := Parse(src, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func mustConv(t *testing.T, js string) *Conversation {
	t.Helper()
	c, err := ParseConversation([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRewriteRenamesOnlyTheTojsonFilter(t *testing.T) {
	src := `{{ x | tojson }}{{ "| tojson" }}{% set y = {'a': {'b': 1}} %}{{ y|tojson(indent=1) }}{{ tojson }}` +
		`{% raw %}{{ z | tojson }}{% endraw %}{# | tojson #}` + "\n"
	got, gen, err := rewrite(src)
	if err != nil {
		t.Fatal(err)
	}
	want := `{{ x | moslora_tojson }}{{ "| tojson" }}{% set y = {'a': {'b': 1}} %}{{ y|moslora_tojson(indent=1) }}{{ tojson }}` +
		`{% raw %}{{ z | tojson }}{% endraw %}{# | tojson #}`
	if got != want || gen {
		t.Errorf("rewrite:\n got %q (generation %v)\nwant %q", got, gen, want)
	}
}

func TestGenerationBlocksAreTransparentAndGiveSpans(t *testing.T) {
	// The same template with {% generation %} and with a transparent {% if true %} block in its
	// place: identical text, whitespace control included; the spans cover the assistant contents.
	body := func(open, close string) string {
		return "{%- for m in messages %}\n" +
			"  {%- if m.role == 'assistant' %}\n" +
			"<a>" + open + "\n{{ m.content }}</a>\n" + close + "\n" +
			"  {%- else %}\n<u>{{ m.content }}</u>\n  {%- endif %}\n{%- endfor %}"
	}
	plainT := mustParse(t, body("{%- if true %}", "{%- endif %}"))
	genT := mustParse(t, body("{%- generation %}", "{%- endgeneration %}"))
	if plainT.HasGeneration || !genT.HasGeneration {
		t.Fatalf("HasGeneration: plain %v, marked %v", plainT.HasGeneration, genT.HasGeneration)
	}
	c := mustConv(t, `{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
		{"role": "user", "content": "again"}, {"role": "assistant", "content": "ok!"}]}`)
	p, err := plainT.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	g, err := genT.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != g.Text {
		t.Fatalf("generation blocks changed the text:\n%q\n%q", p.Text, g.Text)
	}
	var spans []string
	for _, s := range g.Generation {
		spans = append(spans, g.Text[s[0]:s[1]])
	}
	if len(spans) != 2 || spans[0] != "yo</a>" || spans[1] != "ok!</a>" {
		t.Errorf("spans %q in %q, want [yo</a> ok!</a>]", spans, g.Text)
	}
}

func TestStrftimeNowUsesTheConversationClock(t *testing.T) {
	tmpl := mustParse(t, `{{ strftime_now("%d %b %Y|%A, %B %-d, %y %I:%M:%S %p|%j|%e|%Z%z|%Q %%") }}`)
	c := mustConv(t, `{"messages": [], "now": "2025-03-04T21:06:05"}`)
	got, err := tmpl.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	// Python: datetime(2025, 3, 4, 21, 6, 5).strftime(...) in the C locale.
	want := "04 Mar 2025|Tuesday, March 4, 25 09:06:05 PM|063| 4||%Q %"
	if got.Text != want {
		t.Errorf("got %q, want %q", got.Text, want)
	}
	if s := strftime("%Y", time.Now()); s != time.Now().Format("2006") {
		t.Errorf("%%Y = %q", s)
	}
}

func TestSpecialTokensAndVariablesReachTheTemplate(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "tokenizer_config.json", `{"bos_token": {"content": "<s>"}, "eos_token": "</s>", "pad_token": null,
		"unk_token": "", "additional_special_tokens": ["<x>", {"content": "<y>"}],
		"chat_template": "{{ bos_token }}|{{ eos_token }}|{{ pad_token is defined }}|{{ unk_token is defined }}|{{ additional_special_tokens | join(',') }}|{{ flag }}|{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}\n"}`)
	tmpl, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render(mustConv(t, `{"messages": [], "flag": 7, "eos_token": "<override>"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "<s>|<override>|False|False|<x>,<y>|7|True|True|False"; got.Text != want {
		t.Errorf("got %q, want %q", got.Text, want)
	}
}

func TestLoadPicksTheTemplateLikeTransformers(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "tokenizer_config.json", `{"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}, {"name": "rag", "template": "R"}]}`)
	render := func(name, conv string) string {
		t.Helper()
		tmpl, err := Load(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tmpl.Render(mustConv(t, conv))
		if err != nil {
			t.Fatal(err)
		}
		return r.Text
	}
	noTools, tools := `{"messages": []}`, `{"messages": [], "tools": [{"type": "function"}]}`
	if a, b, c, d := render("", noTools), render("", tools), render("rag", tools), render("default", tools); a+b+c+d != "DTRD" {
		t.Errorf("default/tool_use/named/explicit default = %q %q %q %q, want D T R D", a, b, c, d)
	}
	if _, err := Load(dir, "missing"); err == nil {
		t.Error("an unknown template name loaded")
	}
	write(t, dir, "chat_template.jinja", "J\n")
	if got := render("", noTools); got != "J" {
		t.Errorf("chat_template.jinja should win over tokenizer_config.json: got %q", got)
	}
	if _, err := Load(t.TempDir(), ""); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("a folder without a template: %v, want ErrNoTemplate", err)
	}
}

func TestContinueFinalMessageCutsAfterTheFinalContent(t *testing.T) {
	tmpl := mustParse(t, "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</{{ m.role }}>\n{% endfor %}")
	for _, c := range []struct{ conv, want string }{
		{`{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "The answer is"}], "continue_final_message": true}`,
			"<user>q</user>\n<assistant>The answer is"},
		// trim ate the tag's space: cut and strip trailing whitespace, as transformers does
		{`{"messages": [{"role": "assistant", "content": "ends with space "}], "continue_final_message": true}`,
			"<assistant>ends with space"},
	} {
		conv := mustConv(t, c.conv)
		got, err := tmpl.Render(conv)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != c.want {
			t.Errorf("got %q, want %q", got.Text, c.want)
		}
		if s, _ := conv.Content(conv.Len() - 1); s == "" || s[len(s)-1] == ' ' && s != "ends with space " {
			t.Errorf("the conversation was modified: %q", s)
		}
	}
	list := mustParse(t, "{% for m in messages %}{% for b in m.content %}{{ b.text }};{% endfor %}{% endfor %}")
	got, err := list.Render(mustConv(t, `{"messages": [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}], "continue_final_message": true}`))
	if err != nil || got.Text != "a;b" {
		t.Errorf("list content: %q, %v; want \"a;b\"", got.Text, err)
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTemplatesReachNothingButTheirData: attribute chains that escape Python's sandbox in an
// unsandboxed Jinja2 (class, globals, builtins) reach nothing here.
func TestTemplatesReachNothingButTheirData(t *testing.T) {
	for _, src := range []string{
		`{{ messages.__class__ }}{{ ''.__class__.__mro__ }}{{ raise_exception.__globals__ }}`,
		`{{ cycler.__init__.__globals__.os }}{{ namespace.__dict__ }}`,
		`{{ range(10**9) | length }}`, // Jinja2's sandbox caps range at 100000 items
	} {
		got, err := mustParse(t, src).Render(mustConv(t, `{"messages": []}`))
		if err == nil && got.Text != "" {
			t.Errorf("%s rendered %q, want nothing (or an error)", src, got.Text)
		}
	}
}

func TestRangeIsPythonsWithinTheSandboxCap(t *testing.T) {
	got, err := mustParse(t, `{{ range(3) | join(',') }}|{{ range(2, 8, 3) | join(',') }}|{{ range(5, 0, -2) | join(',') }}|{{ range(0) | length }}|{{ range(100000) | length }}`).Render(mustConv(t, `{"messages": []}`))
	if err != nil || got.Text != "0,1,2|2,5|5,3,1|0|100000" {
		t.Errorf("got %q, %v", got.Text, err)
	}
	if _, err := mustParse(t, `{{ range(100001) | length }}`).Render(mustConv(t, `{"messages": []}`)); err == nil || !strings.Contains(err.Error(), "MAX_RANGE") {
		t.Errorf("range(100001): %v, want the sandbox's error", err)
	}
}
