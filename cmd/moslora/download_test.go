package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/hubtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/spf13/cobra"
)

// hubEnv points the hub variables at fake and an empty cache for the test.
func hubEnv(t *testing.T, fake *hubtest.Hub) string {
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", fake.URL)
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	return cache
}

// The fake hub serves the real base-19m folder; a command given its name downloads it into the
// cache and loads it, and later commands use the cache without a request.
func TestModelByHubNameDownloadsThenLoadsFromCache(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	files := map[string][]byte{}
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "pretrain_info.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	fake := hubtest.New(t)
	fake.AddRepo("moslora/base-19m", files)
	cache := hubEnv(t, fake)

	out, err := runCLI(t, "inspect", "moslora/base-19m")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LlamaForCausalLM", "(18.9M)", "BF16", "snapshots"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect moslora/base-19m lacks %q:\n%s", want, out)
		}
	}
	snap, _ := filepath.Glob(filepath.Join(cache, "models--moslora--base-19m", "snapshots", "*"))
	if len(snap) != 1 {
		t.Fatalf("snapshots: %v", snap)
	}
	if _, err := os.Lstat(filepath.Join(snap[0], "pretrain_info.json")); err == nil {
		t.Error("a file the model does not need was downloaded")
	}

	n := len(fake.Requests())
	tokOut, err := runCLI(t, "tokenize", "--model", "moslora/base-19m", "--json", "Hello world")
	if err != nil {
		t.Fatal(err)
	}
	local, err := runCLI(t, "tokenize", "--model", dir, "--json", "Hello world")
	if err != nil || tokOut != local {
		t.Errorf("tokenize by name = %s, by folder = %s (%v)", tokOut, local, err)
	}
	if extra := fake.Requests()[n:]; len(extra) != 0 {
		t.Errorf("a model already in the cache cost requests: %v", extra)
	}

	out, err = runCLI(t, "download", "moslora/base-19m", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Repo, Revision, Commit, Dir string
		Files                       []string
		Downloaded                  int64
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("download --json: %v\n%s", err, out)
	}
	if s.Dir != snap[0] || s.Revision != "main" || s.Downloaded != 0 || !slices.Contains(s.Files, "model.safetensors") {
		t.Errorf("download over the cache = %+v; want %s, nothing downloaded", s, snap[0])
	}

	t.Setenv("HF_HUB_OFFLINE", "1")
	if _, err := runCLI(t, "inspect", "moslora/base-19m"); err != nil {
		t.Errorf("offline with the model cached: %v", err)
	}
	_, err = runCLI(t, "tokenize", "--model", "moslora/other", "x")
	if err == nil || !strings.Contains(err.Error(), "--model moslora/other") || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline, model not cached: %v; want an error naming the flag and HF_HUB_OFFLINE", err)
	}
}

func TestDownloadRefusesWhatIsNotAHubName(t *testing.T) {
	fake := hubtest.New(t)
	hubEnv(t, fake)
	for _, arg := range []string{"gpt2", "../models/x", "org/x@"} {
		if _, err := runCLI(t, "download", arg); err == nil || !strings.Contains(err.Error(), "org/name") {
			t.Errorf("download %s: %v; want an error showing the org/name form", arg, err)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("bad names made %d requests", n)
	}
}

func TestEveryModelFlagHelpMentionsHubNames(t *testing.T) {
	seen := 0
	for _, c := range rootCmd.Commands() {
		if c.Flags().Lookup("model") == nil {
			continue
		}
		seen++
		out := helpOf(t, c)
		if !strings.Contains(out, "org/name[@revision]") {
			t.Errorf("%s --help does not mention org/name[@revision]:\n%s", c.Name(), out)
		}
	}
	if seen < 8 {
		t.Errorf("only %d commands have --model; the test looks at the wrong command tree", seen)
	}
	inspect, _, _ := rootCmd.Find([]string{"inspect"})
	if out := helpOf(t, inspect); !strings.Contains(out, "org/name[@revision]") {
		t.Errorf("inspect --help: %s", out)
	}
}

func helpOf(t *testing.T, c *cobra.Command) string {
	t.Helper()
	var b bytes.Buffer
	c.SetOut(&b)
	defer c.SetOut(nil)
	c.HelpFunc()(c, nil)
	return b.String()
}
