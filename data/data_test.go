package data

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// byteTok is a byte-level test tokenizer: byte c → id c+3; BOS 1, EOS 2, pad 0.
type byteTok struct{ bos bool }

func (t byteTok) Encode(s string, addSpecial bool) []int {
	var ids []int
	if addSpecial && t.bos {
		ids = append(ids, 1)
	}
	for _, c := range []byte(s) {
		ids = append(ids, int(c)+3)
	}
	return ids
}
func (byteTok) BOS() int       { return 1 }
func (byteTok) EOS() int       { return 2 }
func (t byteTok) AddBOS() bool { return t.bos }

func enc(s string) []int { return byteTok{}.Encode(s, false) }

// Errors speak JSON (a string, a number, a list), never the Go types the decoder fills.
func TestRowErrorsNeverNameGoTypes(t *testing.T) {
	for _, line := range []string{`{"prompt": "a", "completion": 3}`, `{"text": {"a": 1}}`, `{"choices": "x", "prompt": "a", "completion": "b"}`,
		`{"messages": [1]}`, `{"task": 1, "text": "a"}`, `{"prompt": "a", "completion": "b", "answers": [null]}`} {
		_, _, err := Read(strings.NewReader(line), "t.jsonl", false)
		if err == nil {
			t.Fatalf("%s: accepted", line)
		}
		for _, goWord := range []string{"rawRow", "Go struct", "Go value", "*string", "[]string", "unmarshal"} {
			if strings.Contains(err.Error(), goWord) {
				t.Errorf("%s: error %q names %q", line, err, goWord)
			}
		}
	}
}

// A UTF-8 byte order mark at the start of the file is not part of the first row.
func TestByteOrderMarkIsSkipped(t *testing.T) {
	rows, _, err := Read(strings.NewReader("\ufeff{\"text\": \"a\"}\n{\"text\": \"b\"}\n"), "bom.jsonl", false)
	if err != nil || len(rows) != 2 || rows[0].Text != "a" {
		t.Fatalf("rows %+v, err %v", rows, err)
	}
}

func TestBadLinesNameFileAndLine(t *testing.T) {
	cases := []struct {
		line, want string
	}{
		{`{"prompt": "a", "completion": " b", "extra": 1}`, `unknown field "extra"`},
		{`{"prompt": "a"}`, `"prompt" without "completion"`},
		{`{"completion": " b"}`, `"completion" without "prompt"`},
		{`{"text": "a", "prompt": "b", "completion": "c"}`, `exclusive`},
		{`{"messages": [{"role": "bot", "content": "x"}]}`, `no assistant message`},
		{`{"messages": [{"content": "x"}]}`, `messages[0] has no "role"`},
		{`{"messages": [{"role": "user", "content": "x"}]}`, `no assistant message`},
		{`{"prompt": "a", "completion": " b", "choices": [" c", " d"]}`, `not one of "choices"`},
		{`{"text": "a"} {"text": "b"}`, `trailing data`},
		{`{"text": "a"`, `invalid JSON`},
		{`{"task": "x"}`, `accepted rows: {"text"`},
		{`[1, 2]`, `expected a JSON object, got a list`},
		{`{"prompt": "a", "completion": 3}`, `"completion" must be a string, got a number`},
		{`{"text": true}`, `"text" must be a string, got true/false`},
		{`{"prompt": "a", "completion": " b", "choices": [" b", 2]}`, `choices[1] must be a string, got a number`},
		{`{"messages": {"role": "user"}}`, `must be a list of {"role", "content"} objects, not an object`},
		{`{"prompt": "a", "completion": " b", "answers": "b"}`, `"answers" must be a list of strings, got a string`},
		{`{"instruction": "a", "input": "", "output": "b"}`, `looks like an Alpaca row`},
		{`{"conversations": [{"from": "human", "value": "hi"}]}`, `looks like a ShareGPT row`},
		{"{\"text\": \"caf\xe9\"}", `not valid UTF-8`},
	}
	for _, c := range cases {
		src := "{\"text\": \"ok\"}\n\n" + c.line + "\n{\"text\": \"ok\"}\n"
		_, _, err := Read(strings.NewReader(src), "train.jsonl", false)
		var le *LineError
		if !errors.As(err, &le) {
			t.Fatalf("%s: got %v, want a *LineError", c.line, err)
		}
		if le.File != "train.jsonl" || le.Line != 3 {
			t.Errorf("%s: error at %s:%d, want train.jsonl:3", c.line, le.File, le.Line)
		}
		if !strings.HasPrefix(err.Error(), "train.jsonl:3: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to contain %q", c.line, err, c.want)
		}
		rows, skipped, err := Read(strings.NewReader(src), "train.jsonl", true)
		if err != nil || skipped != 1 || len(rows) != 2 || rows[1].Line != 4 {
			t.Errorf("%s: skipBad got rows=%d skipped=%d err=%v", c.line, len(rows), skipped, err)
		}
	}
}

func TestReadShapes(t *testing.T) {
	src := `{"task": "sentiment", "domain": "reviews", "prompt": "P", "completion": " great", "choices": [" great", " other"]}
{"task": "quiz", "prompt": "Q", "completion": " Paris", "answers": ["Paris", "paris"]}
{"text": "hello"}
{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}
`
	rows, skipped, err := Read(strings.NewReader(src), "f", false)
	if err != nil || skipped != 0 || len(rows) != 4 {
		t.Fatalf("rows=%d skipped=%d err=%v", len(rows), skipped, err)
	}
	if r := rows[0]; !r.HasPrompt || r.Task != "sentiment" || r.Domain != "reviews" || len(r.Choices) != 2 || r.Completion != " great" {
		t.Errorf("row 0 = %+v", r)
	}
	if r := rows[1]; !slices.Equal(r.Answers, []string{"Paris", "paris"}) {
		t.Errorf("row 1 answers = %q", r.Answers)
	}
	if r := rows[2]; !r.HasText || r.Text != "hello" {
		t.Errorf("row 2 = %+v", r)
	}
	if r := rows[3]; len(r.Messages) != 3 || r.Messages[2].Role != RoleAssistant {
		t.Errorf("row 3 = %+v", r)
	}
}

func TestEncodeMasksPromptAndTrainsCompletionAndEOS(t *testing.T) {
	r := Row{HasPrompt: true, Prompt: "ab", Completion: " c"}
	for _, bos := range []bool{true, false} {
		ex, err := Encode(byteTok{bos: bos}, &r, 0)
		if err != nil {
			t.Fatal(err)
		}
		var wantIDs, wantLab []int
		if bos {
			wantIDs, wantLab = []int{1}, []int{IgnoreLabel}
		}
		wantIDs = append(wantIDs, enc("ab")...)
		wantLab = append(wantLab, IgnoreLabel, IgnoreLabel)
		wantIDs = append(wantIDs, append(enc(" c"), 2)...)
		wantLab = append(wantLab, append(enc(" c"), 2)...)
		if !slices.Equal(ex.IDs, wantIDs) || !slices.Equal(ex.Labels, wantLab) {
			t.Errorf("bos=%v: ids %v labels %v, want %v %v", bos, ex.IDs, ex.Labels, wantIDs, wantLab)
		}
		if got := ex.LossTokens(); got != 3 {
			t.Errorf("bos=%v: loss tokens %d, want 3 (two completion bytes + EOS)", bos, got)
		}
	}
}

func TestEncodeTextAndChat(t *testing.T) {
	tok := byteTok{bos: true}
	ex, err := Encode(tok, &Row{HasText: true, Text: "xy"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 'x' + 3, 'y' + 3, 2}; !slices.Equal(ex.IDs, want) || !slices.Equal(ex.Labels, []int{IgnoreLabel, 'x' + 3, 'y' + 3, 2}) {
		t.Errorf("text: ids %v labels %v", ex.IDs, ex.Labels)
	}
	r := Row{Messages: []Message{{RoleUser, "hi"}, {RoleAssistant, "yo"}}}
	ex, err = Encode(tok, &r, 0)
	if err != nil {
		t.Fatal(err)
	}
	prompt := append([]int{1}, enc("### User:\nhi\n### Assistant:")...)
	answer := append(enc(" yo"), 2)
	wantIDs := append(append(slices.Clone(prompt), answer...), enc("\n")...)
	if !slices.Equal(ex.IDs, wantIDs) {
		t.Fatalf("chat ids %v, want %v", ex.IDs, wantIDs)
	}
	for i, l := range ex.Labels {
		trained := i >= len(prompt) && i < len(prompt)+len(answer)
		if trained != (l != IgnoreLabel) || (trained && l != ex.IDs[i]) {
			t.Errorf("chat label %d = %d (trained should be %v)", i, l, trained)
		}
	}
}

func TestTruncateKeepsBOSAndTail(t *testing.T) {
	r := Row{HasPrompt: true, Prompt: "abcdefgh", Completion: " z"}
	ex, err := Encode(byteTok{bos: true}, &r, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 'h' + 3, ' ' + 3, 'z' + 3, 2}
	if !slices.Equal(ex.IDs, want) || !slices.Equal(ex.Labels, []int{IgnoreLabel, IgnoreLabel, ' ' + 3, 'z' + 3, 2}) {
		t.Errorf("with BOS: ids %v labels %v, want ids %v", ex.IDs, ex.Labels, want)
	}
	ex, _ = Encode(byteTok{}, &r, 4)
	if want := []int{'h' + 3, ' ' + 3, 'z' + 3, 2}; !slices.Equal(ex.IDs, want) {
		t.Errorf("without BOS: ids %v, want %v", ex.IDs, want)
	}
	if _, err := Encode(byteTok{}, &r, 1); err == nil {
		t.Error("max length 1 accepted")
	}
}

func TestMakeBatchPadsRight(t *testing.T) {
	a := Example{IDs: []int{1, 5, 6}, Labels: []int{IgnoreLabel, IgnoreLabel, 6}}
	b := Example{IDs: []int{1, 7, 8, 9, 2}, Labels: []int{IgnoreLabel, 7, 8, 9, 2}}
	bt := MakeBatch([]Example{a, b}, 0)
	if bt.B != 2 || bt.T != 5 || bt.Tokens != 8 || bt.Loss != 5 {
		t.Fatalf("B=%d T=%d tokens=%d loss=%d", bt.B, bt.T, bt.Tokens, bt.Loss)
	}
	if !slices.Equal(bt.IDs, []int{1, 5, 6, 0, 0, 1, 7, 8, 9, 2}) {
		t.Errorf("ids %v", bt.IDs)
	}
	if !slices.Equal(bt.Labels, []int{IgnoreLabel, IgnoreLabel, 6, IgnoreLabel, IgnoreLabel, IgnoreLabel, 7, 8, 9, 2}) {
		t.Errorf("labels %v", bt.Labels)
	}
}

func TestOrderIsDeterministicPermutation(t *testing.T) {
	o1, o2 := Order(100, 7, 0), Order(100, 7, 0)
	if !slices.Equal(o1, o2) {
		t.Fatal("same seed and epoch gave different orders")
	}
	s := slices.Clone(o1)
	slices.Sort(s)
	for i := range s {
		if s[i] != i {
			t.Fatalf("order is not a permutation: %v", o1)
		}
	}
	if slices.Equal(o1, Order(100, 7, 1)) || slices.Equal(o1, Order(100, 8, 0)) {
		t.Error("different epoch or seed gave the same order")
	}
}

func TestPackAndLoader(t *testing.T) {
	mk := func(n int) Example {
		e := Example{}
		for i := 0; i < n; i++ {
			e.IDs = append(e.IDs, 10+i)
			e.Labels = append(e.Labels, 10+i)
		}
		return e
	}
	exs := []Example{mk(3), mk(4), mk(2), mk(6)}
	p := Pack(exs, []int{0, 1, 2, 3}, 7)
	if len(p) != 3 || len(p[0].IDs) != 7 || len(p[1].IDs) != 2 || len(p[2].IDs) != 6 {
		t.Fatalf("packed lengths: %d sequences", len(p))
	}
	l := Loader{Examples: exs, Seed: 1, Batch: 3, Pad: 0}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	bs := l.Epoch(0)
	if len(bs) != 2 || bs[0].B != 3 || bs[1].B != 1 {
		t.Fatalf("epoch batches: %d", len(bs))
	}
	total := 0
	for _, b := range bs {
		total += b.Tokens
	}
	if total != 15 {
		t.Errorf("epoch has %d tokens, want 15", total)
	}
}

func TestSplitKeepsRowsAndTargets(t *testing.T) {
	mk := func(n, first int) Example {
		e := Example{}
		for i := 0; i < n; i++ {
			e.IDs = append(e.IDs, first+i)
			if i > n/2 {
				e.Labels = append(e.Labels, first+i)
			} else {
				e.Labels = append(e.Labels, IgnoreLabel)
			}
		}
		return e
	}
	lens := []int{40, 3, 38, 5, 4, 39, 6, 41}
	var exs []Example
	for i, n := range lens {
		exs = append(exs, mk(n, 100*i))
	}
	b := MakeBatch(exs, 7)
	parts := b.Split(8)
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2 (short rows and long rows)", len(parts))
	}
	padded, loss, tokens, rows := 0, 0, 0, 0
	seen := map[int]bool{}
	for _, p := range parts {
		padded += p.B * p.T
		loss += p.Loss
		tokens += p.Tokens
		rows += p.B
		for r := 0; r < p.B; r++ {
			first := p.IDs[r*p.T]
			e := exs[first/100]
			if seen[first] || !slices.Equal(p.IDs[r*p.T:r*p.T+p.Lens[r]], e.IDs) || !slices.Equal(p.Labels[r*p.T:r*p.T+p.Lens[r]], e.Labels) {
				t.Errorf("row starting %d is not an original row", first)
			}
			seen[first] = true
			for j := p.Lens[r]; j < p.T; j++ {
				if p.IDs[r*p.T+j] != 7 || p.Labels[r*p.T+j] != IgnoreLabel {
					t.Errorf("padding of row %d is not pad/IgnoreLabel", first)
				}
			}
		}
	}
	if rows != b.B || loss != b.Loss || tokens != b.Tokens {
		t.Errorf("parts hold %d rows, %d targets, %d tokens; batch %d, %d, %d", rows, loss, tokens, b.B, b.Loss, b.Tokens)
	}
	t.Logf("padded tokens: %d in one block, %d in %d parts", b.B*b.T, padded, len(parts))
	if padded >= b.B*b.T {
		t.Error("splitting did not reduce padding")
	}
	if one := b.Split(1 << 20); len(one) != 1 {
		t.Errorf("huge overhead gave %d parts, want 1", len(one))
	}
}

// TestChunkKeepsEveryToken: splitting a long text example into maxLen pieces drops nothing but a
// lone trailing token (which has no target), and every piece fits.
func TestChunkKeepsEveryToken(t *testing.T) {
	for _, n := range []int{1, 5, 8, 9, 16, 17, 23} {
		ex := Example{Row: 3}
		for i := 0; i < n; i++ {
			ex.IDs = append(ex.IDs, 100+i)
			ex.Labels = append(ex.Labels, 100+i)
		}
		pieces := Chunk(ex, 8)
		var ids []int
		for _, p := range pieces {
			if len(p.IDs) > 8 || len(p.IDs) != len(p.Labels) || p.Row != 3 {
				t.Fatalf("n=%d: bad piece %+v", n, p)
			}
			ids = append(ids, p.IDs...)
		}
		want := n
		if n > 8 && n%8 == 1 {
			want = n - 1
		}
		if len(ids) != want {
			t.Fatalf("n=%d: pieces hold %d tokens, want %d", n, len(ids), want)
		}
		for i, id := range ids {
			if id != 100+i {
				t.Fatalf("n=%d: token %d is %d, want %d", n, i, id, 100+i)
			}
		}
	}
}
