package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/moslora/moslora/bench"
	"github.com/moslora/moslora/export"
	"github.com/spf13/cobra"
)

// llamaCppFlags are bench's --compare llamacpp settings.
type llamaCppFlags struct {
	o        bench.LlamaCppOptions
	outtypes string
}

func (f *llamaCppFlags) register(cmd *cobra.Command) {
	def := ""
	if root := repoRoot(); root != "" {
		def = filepath.Join(root, "tests", "llamacpp")
	}
	fl := cmd.Flags()
	fl.StringVar(&f.o.Dir, "llamacpp-dir", def, "--compare llamacpp: folder with run.mjs and node-llama-cpp installed (DIR/install.sh)")
	fl.StringVar(&f.outtypes, "llamacpp-outtypes", "f32,q8_0", "--compare llamacpp: GGUF types to run in llama.cpp")
	fl.IntVar(&f.o.Threads, "threads", runtime.GOMAXPROCS(0), "--compare llamacpp: threads of both engines; --inference: threads of every variant")
	fl.IntVar(&f.o.Prompt, "prompt-tokens", 128, "--compare llamacpp and --inference: prompt length")
	fl.IntVar(&f.o.Decode, "decode-tokens", 64, "--compare llamacpp and --inference: tokens decoded after the prompt")
	fl.IntVar(&f.o.Rounds, "rounds", 5, "--compare llamacpp and --inference: alternating rounds (medians reported)")
}

func (f *llamaCppFlags) run(cmd *cobra.Command, modelDir string, asJSON bool) error {
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("bench --compare llamacpp needs Node (node on PATH) and node-llama-cpp (tests/llamacpp/install.sh)")
	}
	f.o.Node, f.o.ModelDir, f.o.JSON = node, modelDir, asJSON
	for _, s := range strings.Split(f.outtypes, ",") {
		t, err := export.ParseGGUFOutType(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("--llamacpp-outtypes: %w", err)
		}
		f.o.OutTypes = append(f.o.OutTypes, t)
	}
	return bench.RunLlamaCpp(cmd.Context(), f.o, cmd.OutOrStdout(), cmd.ErrOrStderr())
}

// repoRoot is the folder holding go.mod above the working directory, or "".
func repoRoot() string {
	dir, err := filepath.Abs(".")
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
