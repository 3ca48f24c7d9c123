package data

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/moslora/moslora/internal/allocs"
)

// rowBound: a parsed JSONL file may hold its strings twice over (the scanner's line and the
// decoded value) plus the decoder's working set.
var rowBound = allocs.Bound{PerByte: 24, Fixed: 1 << 20}

// rowJSON writes a parsed row back in its own shape: the writer the round trip checks.
func rowJSON(r Row) []byte {
	m := map[string]any{}
	if r.Task != "" {
		m["task"] = r.Task
	}
	if r.Domain != "" {
		m["domain"] = r.Domain
	}
	switch {
	case r.HasText:
		m["text"] = r.Text
	case r.HasPrompt:
		m["prompt"], m["completion"] = r.Prompt, r.Completion
		if r.Choices != nil {
			m["choices"] = r.Choices
		}
		if r.Answers != nil {
			m["answers"] = r.Answers
		}
	default:
		m["messages"] = r.Messages
	}
	b, _ := json.Marshal(m)
	return b
}

// FuzzRows feeds arbitrary bytes to the JSONL reader. It must never panic, allocate more than a
// multiple of its input, or report a Go type name; every row it accepts must write back as JSON
// that reads to the same row.
//
//	go test -run '^$' -fuzz FuzzRows -fuzztime 60s ./data/
func FuzzRows(f *testing.F) {
	for _, s := range []string{
		`{"text": "hello"}`,
		`{"prompt": "2+2=", "completion": " 4", "task": "math"}`,
		`{"prompt": "Is it good?", "completion": " yes", "choices": [" yes", " no"], "task": "sentiment"}`,
		`{"prompt": "Capital of France?", "completion": " Paris", "answers": ["Paris", "paris"]}`,
		`{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}`,
		"\ufeff{\"text\": \"bom\"}\n\n{\"text\": \"second\"}",
		`{"instruction": "x", "output": "y"}`,
		`{"conversations": [{"from": "human", "value": "hi"}]}`,
		`{"prompt": "a", "completion": 3}`,
		"{\"text\": \"\xff\"}",
		`[1, 2]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var rows []Row
		var err error
		if aerr := rowBound.Check("Read", len(in), func() { rows, _, err = Read(bytes.NewReader(in), "fuzz.jsonl", false) }); aerr != nil {
			t.Fatal(aerr)
		}
		if err != nil {
			msg := err.Error()
			for _, goName := range []string{"rawRow", "main.", "data.", "[]string", "*string", "json: cannot unmarshal", "Go value"} {
				if strings.Contains(msg, goName) {
					t.Fatalf("error speaks Go (%q): %s", goName, msg)
				}
			}
			if !utf8.ValidString(msg) {
				t.Fatalf("error is not valid UTF-8: %q", msg)
			}
			return
		}
		for _, r := range rows {
			if r.Chat != nil && r.Messages == nil {
				continue // a chat row whose messages only the chat template renders: we have no writer for it
			}
			back, err := ParseLine(rowJSON(r))
			if err != nil {
				t.Fatalf("line %d: a row that read does not read back after writing: %v\n%s", r.Line, err, rowJSON(r))
			}
			back.File, back.Line = r.File, r.Line
			back.Chat, r.Chat = nil, nil // the parsed conversation is compared through Messages
			if !reflect.DeepEqual(back, r) {
				t.Fatalf("line %d: round trip changed the row:\n%+v\n%+v", r.Line, r, back)
			}
		}
	})
}
