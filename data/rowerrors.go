package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// This file turns a JSONL line into a rawRow with errors in the user's terms: the field, the JSON
// type expected and the one found ("completion" must be a string, got a number), never the Go
// types the decoder works with. Rows in other common shapes (Alpaca, ShareGPT) get a hint on how
// to convert them.

// utf8BOM is the byte order mark some editors put at the start of a UTF-8 file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// acceptedShapes lists the row shapes, for messages.
const acceptedShapes = `{"text": ...}, {"prompt": ..., "completion": ...} (optionally "choices" or "answers") or {"messages": [{"role": ..., "content": ...}, ...]}, each optionally with "task" and "domain"`

// rowFields are the keys a row may hold and the JSON type of each.
var rowFields = map[string]string{
	"task": "string", "domain": "string", "text": "string", "prompt": "string", "completion": "string",
	"choices": "list of strings", "answers": "list of strings", "messages": "list of messages",
}

// jsonKind names the JSON type of a raw value as a user would: a string, a number, true/false, a
// list, an object or null.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "true/false"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func isNullJSON(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// stringField decodes a string-valued field; null counts as absent.
func stringField(name string, v json.RawMessage) (*string, error) {
	if isNullJSON(v) {
		return nil, nil
	}
	var s string
	if jsonKind(v) != "a string" || json.Unmarshal(v, &s) != nil {
		return nil, fmt.Errorf("%q must be a string, got %s", name, jsonKind(v))
	}
	return &s, nil
}

// stringsField decodes a list-of-strings field; null counts as absent.
func stringsField(name string, v json.RawMessage) (*[]string, error) {
	if isNullJSON(v) {
		return nil, nil
	}
	var items []json.RawMessage
	if jsonKind(v) != "a list" || json.Unmarshal(v, &items) != nil {
		return nil, fmt.Errorf("%q must be a list of strings, got %s", name, jsonKind(v))
	}
	out := make([]string, len(items))
	for i, it := range items {
		if jsonKind(it) != "a string" || json.Unmarshal(it, &out[i]) != nil {
			return nil, fmt.Errorf("%s[%d] must be a string, got %s", name, i, jsonKind(it))
		}
	}
	return &out, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkLine checks what every row needs before its shape is looked at: UTF-8 text holding a
// JSON object.
func checkLine(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("not valid UTF-8 text (first bad byte at column %d); save the file as UTF-8", invalidUTF8At(b)+1)
	}
	if jsonKind(b) != "an object" {
		return fmt.Errorf("expected a JSON object, got %s; accepted rows: %s", jsonKind(b), acceptedShapes)
	}
	return nil
}

// decodeRow parses one JSON object into a rawRow, checking every field's JSON type.
func decodeRow(b []byte) (rawRow, error) {
	var raw rawRow
	if err := checkLine(b); err != nil {
		return raw, err
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&obj); err != nil {
		return raw, fmt.Errorf("invalid JSON: %s", syntaxMessage(err))
	}
	if dec.More() {
		return raw, errors.New("trailing data after the JSON object (one object per line)")
	}
	var unknown []string
	for _, k := range sortedKeys(obj) {
		if _, ok := rowFields[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return raw, unknownFieldsError(unknown, obj)
	}
	var err error
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "task":
			raw.Task, err = stringField(k, v)
		case "domain":
			raw.Domain, err = stringField(k, v)
		case "text":
			raw.Text, err = stringField(k, v)
		case "prompt":
			raw.Prompt, err = stringField(k, v)
		case "completion":
			raw.Completion, err = stringField(k, v)
		case "choices":
			raw.Choices, err = stringsField(k, v)
		case "answers":
			raw.Answers, err = stringsField(k, v)
		case "messages":
			// conversational rows never get here: parseChat (chat.go) parses every row with "messages"
		}
		if err != nil {
			return raw, err
		}
	}
	return raw, nil
}

// unknownFieldsError names the unknown keys and, for the Alpaca and ShareGPT shapes, how to
// convert the row.
func unknownFieldsError(unknown []string, obj map[string]json.RawMessage) error {
	quoted := make([]string, len(unknown))
	for i, k := range unknown {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	msg := fmt.Sprintf("unknown field %s; accepted rows: %s", strings.Join(quoted, ", "), acceptedShapes)
	_, instr := obj["instruction"]
	_, output := obj["output"]
	_, conv := obj["conversations"]
	switch {
	case instr || output:
		msg += `. This looks like an Alpaca row: write it as {"prompt": instruction (+ "\n" + input), "completion": output}`
	case conv:
		msg += `. This looks like a ShareGPT row: write it as {"messages": [...]} with "from" → "role" (human → user, gpt → assistant, system → system) and "value" → "content"`
	}
	return errors.New(msg)
}

// syntaxMessage describes a JSON syntax error without the decoder's Go vocabulary.
func syntaxMessage(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at column %d)", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	}
	if errors.Is(err, errUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return "the object is not closed (missing } or \")"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

var errUnexpectedEOF = errors.New("unexpected EOF")

// invalidUTF8At returns the byte offset of the first invalid UTF-8 sequence in b (-1: none).
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
