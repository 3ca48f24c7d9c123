package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// publicCases is the number of cases in ../shared/fixtures/chat when this test was written; fewer
// means cases went missing.
const publicCases = 187

// fixtureCase is the bookkeeping part of a case; the whole object is the conversation.
type fixtureCase struct {
	ID        string  `json:"id"`
	Expected  *string `json:"expected"`
	Error     *string `json:"error"`
	ErrorType *string `json:"error_type"`
}

// TestFixtureCasesRenderExactly renders every case of every template folder and compares the text
// byte for byte, or the error's kind and message. No case may be left out: the test counts the
// cases it checked against the cases in the files.
func TestFixtureCasesRenderExactly(t *testing.T) {
	root := shared.Path(t, "fixtures", "chat")
	files, err := filepath.Glob(filepath.Join(root, "*", "cases.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s/*/cases.json (%v)", root, err)
	}
	total, checked := 0, 0
	for _, file := range files {
		dir := filepath.Dir(file)
		folder := filepath.Base(dir)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		total += len(raws)
		tmpl, err := Load(dir, "")
		if err != nil {
			t.Errorf("%s: %v", folder, err)
			continue
		}
		for _, raw := range raws {
			var fc fixtureCase
			if err := json.Unmarshal(raw, &fc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			name := folder + "/" + fc.ID
			conv, err := ParseConversation(raw)
			if err != nil {
				t.Errorf("%s: parse: %v", name, err)
				continue
			}
			got, err := tmpl.Render(conv)
			checked++
			switch {
			case fc.Expected != nil:
				if err != nil {
					t.Errorf("%s: %v", name, err)
				} else if got.Text != *fc.Expected {
					t.Errorf("%s: rendering differs at byte %d\n got: %q\nwant: %q", name,
						firstDiff(got.Text, *fc.Expected), got.Text, *fc.Expected)
				}
			case fc.ErrorType == nil || fc.Error == nil:
				t.Errorf("%s: case has neither expected nor error", name)
			case *fc.ErrorType == "TemplateError":
				var te *TemplateError
				if !errors.As(err, &te) || te.Msg != *fc.Error {
					t.Errorf("%s: got error %v, want the template's raise_exception(%q)", name, err, *fc.Error)
				}
			case *fc.ErrorType == "ValueError":
				var ve *ValueError
				if !errors.As(err, &ve) || ve.Msg != *fc.Error {
					t.Errorf("%s: got error %v, want ValueError %q", name, err, *fc.Error)
				}
			case *fc.ErrorType == "TypeError":
				// Python's wording; the engine's differs. The data is invalid: any render error,
				// but never a text.
				if err == nil {
					t.Errorf("%s: rendered %q, want an error (Python: TypeError %q)", name, got.Text, *fc.Error)
				}
			default:
				t.Errorf("%s: unknown error_type %q", name, *fc.ErrorType)
			}
		}
	}
	if checked != total || total < publicCases {
		t.Errorf("checked %d of %d cases (the public set has %d): no case may be left out", checked, total, publicCases)
	}
	t.Logf("%d cases in %d templates", checked, len(files))
}

func firstDiff(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
