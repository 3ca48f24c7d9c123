package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/internal/shared"
)

// TestExportModelCommands: gguf-model writes a GGUF of the chosen --outtype (with --json a
// summary), ollama writes the folder and prints the ollama create command, and bad flag
// combinations are refused with a message naming the flag, writing nothing.
func TestExportModelCommands(t *testing.T) {
	base := shared.Path(t, "models", "base-19m")
	tmp := t.TempDir()
	out := filepath.Join(tmp, "m.gguf")
	stdout, err := runCLI(t, "export", "--format", "gguf-model", "--model", base, "--outtype", "q8_0", "--json", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	var info export.GGUFModelInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil || info.OutType != "q8_0" || info.Types["Q8_0"] != 57 || info.Types["F32"] != 17 {
		t.Errorf("--json summary %+v (%v) from %q", info, err, stdout)
	}
	if f, err := export.ReadGGUF(out); err != nil || f.KV["general.file_type"] != uint32(7) {
		t.Errorf("written file: %v", err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "gguf-model", "--outtype", "q4_k"}, "--outtype"},
		{[]string{"--format", "gguf-model", "--adapter", tmp}, "--format gguf"},
		{[]string{"--format", "peft"}, "--adapter"},
	} {
		dest := filepath.Join(tmp, "bad")
		args := append([]string{"export", "--model", base, "--out", dest}, bad.args...)
		if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want an error naming %s", bad.args, err, bad.want)
		}
		if _, err := os.Stat(dest); err == nil {
			t.Errorf("%v wrote %s", bad.args, dest)
		}
	}
	stdout, err = runCLI(t, "export", "--format", "ollama", "--model", base, "--outtype", "f16", "--out", filepath.Join(tmp, "ol"), "--name", "b19")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "ollama create b19 -f Modelfile") {
		t.Errorf("ollama export printed %q", stdout)
	}
}
