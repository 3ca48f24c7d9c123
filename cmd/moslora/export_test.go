package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
)

// TestMergeAndExportCommands runs merge and the three export formats on the llama MoSLoRA
// fixture; each output loads back, and a second run without --force is refused.
func TestMergeAndExportCommands(t *testing.T) {
	dir := shared.Path(t, "fixtures", "hf", "llama")
	modelDir, adapterDir := filepath.Join(dir, "model"), filepath.Join(dir, "moslora_r4")
	tmp := t.TempDir()
	run := func(args ...string) error {
		_, err := runCLI(t, args...)
		return err
	}
	merged := filepath.Join(tmp, "merged")
	if err := run("merge", "--model", modelDir, "--adapter", adapterDir, "--out", merged); err != nil {
		t.Fatal(err)
	}
	if _, err := model.Load(merged); err != nil {
		t.Fatalf("merged folder does not load: %v", err)
	}
	if err := run("merge", "--model", modelDir, "--adapter", adapterDir, "--out", merged); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second merge without --force: %v", err)
	}
	for _, f := range []struct{ format, out string }{
		{"peft", "peft"}, {"peft-moslora", "moslora"}, {"gguf", "a.gguf"},
	} {
		out := filepath.Join(tmp, f.out)
		if err := run("export", "--model", modelDir, "--adapter", adapterDir, "--format", f.format, "--out", out); err != nil {
			t.Fatalf("export --format %s: %v", f.format, err)
		}
		if st, err := os.Stat(out); err != nil || st.IsDir() == (f.format == "gguf") {
			t.Errorf("export --format %s wrote %v (%v)", f.format, st, err)
		}
	}
	if _, err := export.ReadGGUF(filepath.Join(tmp, "a.gguf")); err != nil {
		t.Error(err)
	}
	if err := run("export", "--model", modelDir, "--adapter", adapterDir, "--format", "onnx", "--out", filepath.Join(tmp, "x")); err == nil {
		t.Error("an unknown --format was accepted")
	}
}
