package setting

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func flag(k string) string { return "--" + k }

func TestErrorNamesTheSettingByKeyAndRenderRenamesOnlySettings(t *testing.T) {
	e := Errorf("train", "out", "runs/{force}", " already holds an earlier run; use %s to continue it or another %s", Ref("resume"), Ref("out"))
	if got, want := e.Error(), "train: out runs/{force} already holds an earlier run; use resume to continue it or another out"; got != want {
		t.Errorf("library text %q, want %q", got, want)
	}
	if got, want := e.Render(flag), "train: --out runs/{force} already holds an earlier run; use --resume to continue it or another --out"; got != want {
		t.Errorf("flag text %q, want %q", got, want)
	}
	w := Warning("subspaces", 4, " is ignored: only %s global and gated split the rank", Ref("method"))
	if got, want := w.Render(flag), "warning: --subspaces 4 is ignored: only --method global and gated split the rank"; got != want {
		t.Errorf("warning %q, want %q", got, want)
	}
	if got := Errorf("train", "out", nil, " is required").Error(); got != "train: out is required" {
		t.Errorf("no value: %q", got)
	}
}

func TestInRendersSettingErrorsInsideWrappedErrorsAndKeepsTheChain(t *testing.T) {
	inner := Wrap(fs.ErrNotExist, "train", "data", "x.jsonl", ": no such file; expected a JSONL file")
	outer := Wrap(inner, "", "", nil, "%v\nrun again with %s", inner, Ref("resume"))
	err := fmt.Errorf("train: %w", outer)
	got := In(err, flag)
	if want := "train: train: --data x.jsonl: no such file; expected a JSONL file\nrun again with --resume"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if strings.Contains(err.Error(), "--") {
		t.Errorf("the library text names a flag: %q", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("the chain to fs.ErrNotExist is lost")
	}
	if se, ok := As(err); !ok || se != outer {
		t.Errorf("As found %v", se)
	}
	plain := errors.New("disk full")
	if In(plain, flag) != "disk full" {
		t.Error("an error without settings changed")
	}
}
