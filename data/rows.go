package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Row is one parsed JSONL line. Exactly one of the three shapes is set: Text (HasText), Prompt +
// Completion (HasPrompt), or Messages.
type Row struct {
	Task, Domain string // labels only ("" when absent)

	HasText bool
	Text    string

	HasPrompt          bool
	Prompt, Completion string
	Choices            []string // every possible completion (classification rows), nil otherwise
	Answers            []string // accepted answers (generative rows), nil otherwise

	Messages []Message
	Chat     *ChatRow // conversational rows: the messages as JSON for the model's chat template (chat.go)

	File string // source file, for messages
	Line int    // 1-based line number in File
}

// Message is one turn of a chat row.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Chat roles accepted in a messages row.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// LineError is a bad line: the file, its 1-based line number and the reason.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// rawRow is the JSON form of a line; pointers tell absent fields from empty ones.
type rawRow struct {
	Task       *string    `json:"task"`
	Domain     *string    `json:"domain"`
	Text       *string    `json:"text"`
	Prompt     *string    `json:"prompt"`
	Completion *string    `json:"completion"`
	Choices    *[]string  `json:"choices"`
	Answers    *[]string  `json:"answers"`
	Messages   *[]Message `json:"messages"`
}

// maxLineBytes bounds one JSONL line (64 MiB).
const maxLineBytes = 64 << 20

// ReadFile reads a JSONL file. With skipBad, bad lines are skipped and counted in skipped;
// otherwise the first bad line is returned as a *LineError. Blank lines are ignored.
func ReadFile(path string, skipBad bool) (rows []Row, skipped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return Read(f, path, skipBad)
}

// Read reads JSONL rows from r; name is used in errors (usually the file path).
func Read(r io.Reader, name string, skipBad bool) (rows []Row, skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM) // some editors start UTF-8 files with a byte order mark
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		row, perr := ParseLine(b)
		if perr != nil {
			if skipBad {
				skipped++
				continue
			}
			return nil, skipped, &LineError{File: name, Line: line, Err: perr}
		}
		row.File, row.Line = name, line
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", maxLineBytes)
		}
		return nil, skipped, &LineError{File: name, Line: line + 1, Err: err}
	}
	return rows, skipped, nil
}

// ParseLine parses and validates one JSON object (without file context).
func ParseLine(b []byte) (Row, error) {
	if err := checkLine(b); err != nil {
		return Row{}, err
	}
	if r, ok, err := parseChat(b); ok { // messages and TRL conversational rows (chat.go)
		return r, err
	}
	raw, err := decodeRow(b)
	if err != nil {
		return Row{}, err
	}
	var r Row
	if raw.Task != nil {
		r.Task = *raw.Task
	}
	if raw.Domain != nil {
		r.Domain = *raw.Domain
	}
	shapes := 0
	if raw.Text != nil {
		shapes++
	}
	if raw.Prompt != nil || raw.Completion != nil {
		shapes++
	}
	if raw.Messages != nil {
		shapes++
	}
	switch {
	case shapes == 0:
		return Row{}, errors.New("no \"text\", \"prompt\"/\"completion\" or \"messages\"; accepted rows: " + acceptedShapes)
	case shapes > 1:
		return Row{}, errors.New(`"text", "prompt"/"completion" and "messages" are exclusive shapes; found more than one`)
	}
	if (raw.Choices != nil || raw.Answers != nil) && raw.Prompt == nil {
		return Row{}, errors.New(`"choices" and "answers" need a "prompt"/"completion" row`)
	}
	switch {
	case raw.Text != nil:
		if *raw.Text == "" {
			return Row{}, errors.New(`"text" is empty`)
		}
		r.HasText, r.Text = true, *raw.Text
	case raw.Messages != nil:
		msgs := *raw.Messages
		if len(msgs) == 0 {
			return Row{}, errors.New(`"messages" is empty`)
		}
		assistant := false
		for i, m := range msgs {
			switch m.Role {
			case RoleSystem, RoleUser:
			case RoleAssistant:
				if m.Content != "" {
					assistant = true
				}
			default:
				return Row{}, fmt.Errorf(`messages[%d]: unknown role %q (expected system, user or assistant)`, i, m.Role)
			}
		}
		if !assistant {
			return Row{}, errors.New(`"messages" has no assistant message with content (nothing to learn)`)
		}
		r.Messages = msgs
	default:
		if raw.Prompt == nil {
			return Row{}, errors.New(`"completion" without "prompt"`)
		}
		if raw.Completion == nil {
			return Row{}, errors.New(`"prompt" without "completion"`)
		}
		if *raw.Completion == "" {
			return Row{}, errors.New(`"completion" is empty`)
		}
		r.HasPrompt, r.Prompt, r.Completion = true, *raw.Prompt, *raw.Completion
		if raw.Choices != nil {
			c := *raw.Choices
			if len(c) < 2 {
				return Row{}, fmt.Errorf(`"choices" has %d entries, expected at least 2`, len(c))
			}
			found := false
			for i, s := range c {
				if s == "" {
					return Row{}, fmt.Errorf(`choices[%d] is empty`, i)
				}
				for _, t := range c[:i] {
					if t == s {
						return Row{}, fmt.Errorf(`choices[%d] %q is a duplicate`, i, s)
					}
				}
				found = found || s == r.Completion
			}
			if !found {
				return Row{}, fmt.Errorf(`"completion" %q is not one of "choices"`, r.Completion)
			}
			r.Choices = c
		}
		if raw.Answers != nil {
			a := *raw.Answers
			if len(a) == 0 {
				return Row{}, errors.New(`"answers" is empty`)
			}
			for i, s := range a {
				if strings.TrimSpace(s) == "" {
					return Row{}, fmt.Errorf(`answers[%d] is blank`, i)
				}
			}
			r.Answers = a
		}
	}
	return r, nil
}
