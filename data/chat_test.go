package data_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moslora/moslora/chat"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/tokenizer"
)

// templateTokenizers pairs each fixture template with the published tokenizer of its family where
// ../shared has one (real pairs: special tokens are single ids), else base-19m's.
var templateTokenizers = map[string][]string{
	"qwen2.5":                  {"fixtures", "hf", "tokenizers", "qwen3"},
	"qwen3":                    {"fixtures", "hf", "tokenizers", "qwen3"},
	"deepseek-r1-distill-qwen": {"fixtures", "hf", "tokenizers", "qwen3"},
	"llama3":                   {"fixtures", "hf", "tokenizers", "llama3"},
	"llama3.1":                 {"fixtures", "hf", "tokenizers", "llama3"},
	"gemma3":                   {"models", "base-19m"},
	"mistral-nemo":             {"models", "base-19m"},
	"phi3.5":                   {"models", "base-19m"},
}

// endOfTurn is what each template writes after an assistant message's content.
var endOfTurn = map[string]string{
	"qwen2.5": "<|im_end|>", "qwen3": "<|im_end|>", "deepseek-r1-distill-qwen": "<｜end▁of▁sentence｜>",
	"llama3": "<|eot_id|>", "llama3.1": "<|eot_id|>", "gemma3": "<end_of_turn>", "mistral-nemo": "</s>",
	"phi3.5": "<|end|>", // its EOS after a finished conversation is the trailer: context
}

type chatCase struct {
	ID                   string            `json:"id"`
	Messages             []json.RawMessage `json:"messages"`
	Tools                json.RawMessage   `json:"tools"`
	AddGenerationPrompt  bool              `json:"add_generation_prompt"`
	ContinueFinalMessage bool              `json:"continue_final_message"`
	Expected             *string           `json:"expected"`
}

var (
	tokMu    sync.Mutex
	tokCache = map[string]*tokenizer.Tokenizer{}
)

// loadTok loads a tokenizer under ../shared once per test binary (the real ones take seconds).
func loadTok(t *testing.T, elem ...string) *tokenizer.Tokenizer {
	t.Helper()
	p := shared.Path(t, elem...)
	tokMu.Lock()
	defer tokMu.Unlock()
	if tok := tokCache[p]; tok != nil {
		return tok
	}
	tok, err := tokenizer.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	tokCache[p] = tok
	return tok
}

// trainedSegments decodes the runs of consecutive trained tokens.
func trainedSegments(tok *tokenizer.Tokenizer, ex data.Example) []string {
	var segs []string
	var run []int
	for t := range ex.IDs {
		if ex.Labels[t] != data.IgnoreLabel {
			run = append(run, ex.IDs[t])
			continue
		}
		if len(run) > 0 {
			segs = append(segs, tok.Decode(run, false))
			run = nil
		}
	}
	if len(run) > 0 {
		segs = append(segs, tok.Decode(run, false))
	}
	return segs
}

// syntheticTurns are conversations added to each template's cases: several assistant turns,
// contents with spaces and non-ASCII text at their edges.
var syntheticTurns = []string{
	`[{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."},
	  {"role": "user", "content": "Another?"}, {"role": "assistant", "content": " Vert — or 緑. "},
	  {"role": "user", "content": "Thanks"}, {"role": "assistant", "content": "You're welcome!"}]`,
	`[{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]`,
}

// synthetic renders syntheticTurns with the template in dir (the chat package's rendering is
// checked against transformers by its own tests).
func synthetic(t *testing.T, dir string) []chatCase {
	t.Helper()
	tmpl, err := chat.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []chatCase
	for k, js := range syntheticTurns {
		conv, err := chat.ParseMessages([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		r, err := tmpl.Render(conv)
		if err != nil {
			t.Fatalf("%s: synthetic %d: %v", dir, k, err)
		}
		var msgs []json.RawMessage
		if err := json.Unmarshal([]byte(js), &msgs); err != nil {
			t.Fatal(err)
		}
		out = append(out, chatCase{ID: fmt.Sprintf("synthetic_%d", k), Messages: msgs, Expected: &r.Text})
	}
	return out
}

// TestChatRowsTrainOnAssistantTurnsOnly encodes the fixture conversations that end with an
// assistant message as {"messages"} rows with each template: the ids are the template's expected
// rendering, and the trained tokens are exactly one run per assistant message, holding its content
// and ending with the template's end-of-turn token (Qwen3's multi-turn rows, which render earlier
// turns differently, included).
func TestChatRowsTrainOnAssistantTurnsOnly(t *testing.T) {
	root := shared.Path(t, "fixtures", "chat")
	checked := map[string]int{}
	for folder, tokPath := range templateTokenizers {
		dir := filepath.Join(root, folder)
		tok := loadTok(t, tokPath...)
		ctok, err := data.WithChatTemplate(tok, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ctok.(data.ChatTokenizer); !ok {
			t.Fatalf("%s: the template was not picked up", folder)
		}
		var cases []chatCase
		shared.ReadJSON(t, filepath.Join(dir, "cases.json"), &cases)
		cases = append(cases, synthetic(t, dir)...)
		realPair := tokPath[0] == "fixtures" && folder != "deepseek-r1-distill-qwen" // Qwen's tokenizer lacks DeepSeek's special tokens
		for _, c := range cases {
			if c.Expected == nil || c.AddGenerationPrompt || c.ContinueFinalMessage || len(c.Messages) == 0 {
				continue
			}
			var contents []string // of the assistant messages
			plain := true
			for _, m := range c.Messages {
				var msg map[string]any
				if err := json.Unmarshal(m, &msg); err != nil {
					t.Fatal(err)
				}
				s, isText := msg["content"].(string)
				if msg["role"] == "assistant" {
					plain = plain && isText && s != "" && len(msg) == 2
					contents = append(contents, s)
				}
			}
			var last map[string]any
			_ = json.Unmarshal(c.Messages[len(c.Messages)-1], &last)
			if !plain || last["role"] != "assistant" || strings.Contains(*c.Expected, "</think>") && folder != "qwen3" {
				continue // tool calls and reasoning are rendered, not copied; checked by the chat package
			}
			row := map[string]any{"messages": c.Messages}
			if len(c.Tools) > 0 && string(c.Tools) != "null" {
				row["tools"] = c.Tools
			}
			line, _ := json.Marshal(row)
			r, err := data.ParseLine(line)
			if err != nil {
				t.Errorf("%s/%s: %v", folder, c.ID, err)
				continue
			}
			r.File, r.Line = folder+".jsonl", 1
			ex, err := data.Encode(ctok, &r, 0)
			if err != nil {
				t.Errorf("%s/%s: %v", folder, c.ID, err)
				continue
			}
			if got := tok.Decode(ex.IDs, false); got != *c.Expected {
				t.Errorf("%s/%s: the ids decode to\n%q\nwant the template's rendering\n%q", folder, c.ID, got, *c.Expected)
			}
			if whole := tok.Encode(*c.Expected, false); realPair && !slices.Equal(ex.IDs, whole) {
				t.Errorf("%s/%s: piecewise ids differ from the whole text's ids\n%v\n%v", folder, c.ID, ex.IDs, whole)
			}
			segs := trainedSegments(tok, ex)
			if len(segs) != len(contents) {
				t.Errorf("%s/%s: %d trained runs %q, want one per assistant message (%d)", folder, c.ID, len(segs), segs, len(contents))
				continue
			}
			for i, s := range segs {
				if !strings.Contains(s, strings.TrimSpace(contents[i])) || !strings.HasSuffix(s, endOfTurn[folder]) {
					t.Errorf("%s/%s: trained run %d is %q, want the content %q and then %q", folder, c.ID, i, s, contents[i], endOfTurn[folder])
				}
				head := strings.TrimLeft(s, " \n")
				if folder == "qwen3" { // the final turn opens with an empty thinking block
					head = strings.TrimPrefix(head, "<think>\n\n</think>\n\n")
				}
				if !strings.HasPrefix(head, strings.TrimSpace(contents[i])) {
					t.Errorf("%s/%s: trained run %d %q does not start with the content %q", folder, c.ID, i, s, contents[i])
				}
				if strings.Contains(s, "user") || strings.HasPrefix(s, endOfTurn[folder]) {
					t.Errorf("%s/%s: trained run %d %q reaches outside the assistant message", folder, c.ID, i, s)
				}
			}
			checked[folder]++
		}
	}
	for folder := range templateTokenizers {
		if checked[folder] == 0 {
			t.Errorf("%s: no conversation was checked", folder)
		}
	}
	t.Logf("conversations checked per template: %v", checked)
}

// chatML is a ChatML template (Qwen 2.5's layout) with and without {% generation %} blocks.
func chatML(generation bool) string {
	open, close := "", ""
	if generation {
		open, close = "{% generation %}", "{% endgeneration %}"
	}
	return "{% for m in messages %}{% if m.role == 'assistant' %}<|im_start|>assistant\n" + open +
		"{{ m.content }}<|im_end|>" + close + "{{ '\\n' }}{% else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n" +
		"{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
}

func qwenTokenizerWith(t *testing.T, template string) (*tokenizer.Tokenizer, data.Tokenizer) {
	t.Helper()
	tok := loadTok(t, "fixtures", "hf", "tokenizers", "qwen3")
	dir := t.TempDir()
	js, _ := json.Marshal(map[string]string{"chat_template": template, "eos_token": "<|im_end|>"})
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	ctok, err := data.WithChatTemplate(tok, dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok, ctok
}

// TestGenerationBlocksAndPrefixRenderingAgree: the same ChatML layout with {% generation %} blocks
// (loss on the blocks) and without (loss found by rendering prefixes) trains the same tokens.
func TestGenerationBlocksAndPrefixRenderingAgree(t *testing.T) {
	line := []byte(`{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"},
		{"role": "assistant", "content": "Paris."}, {"role": "user", "content": "And of Japan?"}, {"role": "assistant", "content": "Tokyo, 東京."}]}`)
	r, err := data.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	tok, withGen := qwenTokenizerWith(t, chatML(true))
	_, withoutGen := qwenTokenizerWith(t, chatML(false))
	a, err := data.Encode(withGen, &r, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := data.Encode(withoutGen, &r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.Labels, b.Labels) {
		t.Fatalf("generation blocks and prefix rendering differ:\n%v\n%v\n%v\n%v", a.IDs, a.Labels, b.IDs, b.Labels)
	}
	if segs := trainedSegments(tok, a); !slices.Equal(segs, []string{"Paris.<|im_end|>", "Tokyo, 東京.<|im_end|>"}) {
		t.Errorf("trained runs %q, want the two answers with <|im_end|>", segs)
	}
}

// TestConversationalPromptCompletionTrainsTheCompletion: TRL's {"prompt": [...], "completion":
// [...]} rows take loss on the completion only, with a template (after its generation prompt) and
// without one (the "### " format).
func TestConversationalPromptCompletionTrainsTheCompletion(t *testing.T) {
	line := []byte(`{"prompt": [{"role": "user", "content": "Capital of France?"}], "completion": [{"role": "assistant", "content": "Paris."}], "task": "quiz"}`)
	r, err := data.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != "quiz" || r.Chat == nil || r.Chat.Prompt == nil {
		t.Fatalf("row %+v", r)
	}
	tok, ctok := qwenTokenizerWith(t, chatML(false))
	ex, err := data.Encode(ctok, &r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Decode(ex.IDs, false), "<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n"; got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
	if segs := trainedSegments(tok, ex); !slices.Equal(segs, []string{"Paris.<|im_end|>"}) {
		t.Errorf("trained %q, want the completion and <|im_end|>", segs)
	}

	ex, err = data.Encode(tok, &r, 0) // no template: "### " format
	if err != nil {
		t.Fatal(err)
	}
	want := tok.Encode("### User:\nCapital of France?\n", false)
	want = append(append(want, tok.Encode("### Assistant:", false)...), tok.Encode(" Paris.", false)...)
	if n := len(tok.Encode(" Paris.", false)) + 1; ex.LossTokens() != n || !slices.Equal(ex.IDs[:len(want)], want) {
		t.Errorf("no template: ids %v (loss on %d), want the ### format starting %v with loss on %d", ex.IDs, ex.LossTokens(), want, n)
	}
}

// TestChatRowsWithoutTemplateNeedPlainMessages: without a template, tool calls, content lists and
// unknown roles are errors naming the line, not dropped.
func TestChatRowsWithoutTemplateNeedPlainMessages(t *testing.T) {
	tok := loadTok(t, "fixtures", "hf", "tokenizers", "qwen3")
	for _, c := range []struct{ line, want string }{
		{`{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": null, "tool_calls": []}]}`, "needs the model's chat template"},
		{`{"messages": [{"role": "tool", "content": "22"}, {"role": "assistant", "content": "ok"}]}`, `unknown role "tool"`},
	} {
		r, err := data.ParseLine([]byte(c.line))
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		r.File, r.Line = "chat.jsonl", 7
		_, err = data.Encode(tok, &r, 0)
		if err == nil || !strings.Contains(err.Error(), "chat.jsonl:7") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want chat.jsonl:7 and %q", c.line, err, c.want)
		}
	}
	if _, err := chat.Load(t.TempDir(), ""); err == nil {
		t.Error("an empty folder has a chat template")
	}
}

// TestUnlocatableTurnsAreErrors: a template that rewrites an earlier assistant message (here: cuts
// it to 3 characters unless it is the last) leaves nothing to anchor; the row is an error naming
// the line and the message, not a guessed mask.
func TestUnlocatableTurnsAreErrors(t *testing.T) {
	_, ctok := qwenTokenizerWith(t, "{% for m in messages %}<{{ m.role }}>{% if loop.last %}{{ m.content }}{% else %}{{ m.content[:3] }}{% endif %}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
	r, err := data.ParseLine([]byte(`{"messages": [{"role": "user", "content": "Sky?"}, {"role": "assistant", "content": "Blue sky."}, {"role": "user", "content": "Sea?"}, {"role": "assistant", "content": "Blue too."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	r.File, r.Line = "chat.jsonl", 2
	if _, err := data.Encode(ctok, &r, 0); err == nil || !strings.Contains(err.Error(), "chat.jsonl:2") || !strings.Contains(err.Error(), "messages[1] cannot be located") {
		t.Errorf("got %v, want an error naming chat.jsonl:2 and messages[1]", err)
	}
}

// TestQwen3MultiTurnTrainsWhatEachTurnRenders: Qwen3's template drops the thinking of assistant
// turns before the last user message and keeps it in the final one, so rendering prefixes fails
// for the earlier turns; anchoring their content finds them. Earlier turns train on their visible
// answer, the final turn on its thinking and answer — each with <|im_end|>.
func TestQwen3MultiTurnTrainsWhatEachTurnRenders(t *testing.T) {
	tok := loadTok(t, "fixtures", "hf", "tokenizers", "qwen3")
	ctok, err := data.WithChatTemplate(tok, shared.Path(t, "fixtures", "chat", "qwen3"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := data.ParseLine([]byte(`{"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."},
		{"role": "user", "content": "Another?"}, {"role": "assistant", "content": "<think>hmm</think>Green."},
		{"role": "user", "content": "Thanks"}, {"role": "assistant", "content": "<think>\nok\n</think>\n\nWelcome!"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := data.Encode(ctok, &r, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\nBlue.<|im_end|>\n<|im_start|>user\nAnother?<|im_end|>\n" +
		"<|im_start|>assistant\nGreen.<|im_end|>\n<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n<think>\nok\n</think>\n\nWelcome!<|im_end|>\n"
	if got := tok.Decode(ex.IDs, false); got != want {
		t.Errorf("rendered %q\nwant %q", got, want)
	}
	if segs := trainedSegments(tok, ex); !slices.Equal(segs, []string{"Blue.<|im_end|>", "Green.<|im_end|>", "<think>\nok\n</think>\n\nWelcome!<|im_end|>"}) {
		t.Errorf("trained %q", segs)
	}
}
