// Package openai tests `moslora serve` with a real client: the official OpenAI JavaScript library
// (client.mjs, the `openai` npm package pinned in package.json), run by Node.
package openai

import (
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/serve"
	"github.com/moslora/moslora/tokenizer"
)

// testDir is this folder (package.json, client.mjs, node_modules).
func testDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// saveAdapter writes a random adapter (B small, so it changes the greedy text) for m to dir.
func saveAdapter(t *testing.T, m *model.Model, dir string, seed uint64, mixer bool, targets ...string) {
	t.Helper()
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.LoraAlpha, cfg.LoraUseMixer = 8, 16, mixer
	cfg.TargetModules = adapter.Targets{List: targets}
	a, err := adapter.New(cfg, m, int64(seed))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Detach()
	r := rand.New(rand.NewPCG(seed, 3))
	for _, l := range a.Linears {
		for i := range l.B {
			l.B[i] = float32(0.02 * r.NormFloat64())
		}
	}
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
}

// generateText is what `moslora generate --temperature 0` writes after the prompt ids: the
// adapter in adapterDir (if any) attached, greedy decoding, the text past the prompt's.
func generateText(t *testing.T, base, adapterDir string, prompt []int, maxNew int) string {
	t.Helper()
	op, err := jobs.Open{Model: base, Adapter: adapterDir, Tokenizer: true}.Load()
	if err != nil {
		t.Fatal(err)
	}
	m, tok := op.Model, op.Tokenizer
	stop, err := generate.StopIDsFromModelDir(base)
	if err != nil {
		t.Fatal(err)
	}
	res, err := generate.Generate(m, prompt, generate.Options{MaxNewTokens: maxNew, StopIDs: append(stop, tok.EOS())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Decode(res.IDs, true)[len(tok.Decode(prompt, true)):]
}

type caseResult struct {
	Model, Prompt                  string
	Completion, CompletionStreamed string
	CompletionFinish               string
	CompletionUsage                struct{ Prompt_tokens, Completion_tokens, Total_tokens int }
	Chat, ChatStreamed, ChatRole   string
}

// TestOpenAIClientGetsWhatGenerateWrites: the official client lists the base and both adapters
// (with their parent), and for every model its completion, chat, and their streamed forms give
// the greedy text `moslora generate` writes for the same prompt and adapter.
func TestOpenAIClientGetsWhatGenerateWrites(t *testing.T) {
	base := shared.Path(t, "models", "base-19m")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: this test drives the server with the OpenAI JavaScript client")
	}
	if _, err := os.Stat(filepath.Join(testDir(), "node_modules", "openai", "package.json")); err != nil {
		t.Skip("the openai npm package is not installed: run `npm ci --prefix tests/openai` (.ci/run does)")
	}
	adapters := t.TempDir()
	m, err := model.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	saveAdapter(t, m, filepath.Join(adapters, "poet"), 11, false, "q_proj", "v_proj")
	saveAdapter(t, m, filepath.Join(adapters, "coder"), 12, true, "q_proj", "k_proj", "v_proj", "o_proj", "down_proj")
	srv, err := serve.New(serve.Options{ModelDir: base, AdaptersDir: adapters, APIKey: "test-key"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer srv.Close()
	defer hs.Close()

	const maxTokens = 10
	type jobCase struct {
		Model     string `json:"model"`
		Prompt    string `json:"prompt"`
		MaxTokens int    `json:"maxTokens"`
	}
	var cases []jobCase
	for _, mn := range []string{"base-19m", "poet", "coder", "base-19m"} { // back to the base: adapters switch per request
		for _, p := range []string{"The President said", "Once upon a time"} {
			cases = append(cases, jobCase{mn, p, maxTokens})
		}
	}
	job, _ := json.Marshal(map[string]any{"baseURL": hs.URL + "/v1", "apiKey": "test-key", "cases": cases})
	jobFile := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(jobFile, job, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(testDir(), "client.mjs"), jobFile)
	cmd.Dir = testDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("client.mjs: %v\n%s", err, stderr.String())
	}
	var out struct {
		Models []struct {
			ID     string
			Parent *string
		}
		Cases  []caseResult
		Errors map[string]struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("client output: %v\n%s", err, raw)
	}

	var listed []string
	for _, m := range out.Models {
		p := ""
		if m.Parent != nil {
			p = *m.Parent
		}
		listed = append(listed, m.ID+"<"+p)
	}
	if got, want := strings.Join(listed, ","), "base-19m<,coder<base-19m,poet<base-19m"; got != want {
		t.Errorf("models.list: %s, want %s", got, want)
	}
	if e := out.Errors["unknownModel"]; e.Status != 404 {
		t.Errorf("unknown model: %+v, want status 404", e)
	}
	if e := out.Errors["wrongKey"]; e.Status != 401 {
		t.Errorf("wrong API key: %+v, want status 401", e)
	}

	tok, err := tokenizer.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Cases) != len(cases) {
		t.Fatalf("%d results for %d cases", len(out.Cases), len(cases))
	}
	distinct := map[string]bool{}
	for _, c := range out.Cases {
		dir := ""
		if c.Model != "base-19m" {
			dir = filepath.Join(adapters, c.Model)
		}
		want := generateText(t, base, dir, tok.Encode(c.Prompt, true), maxTokens)
		if c.Completion != want || c.CompletionStreamed != want {
			t.Errorf("%s %q: completion %q, streamed %q; moslora generate %q", c.Model, c.Prompt, c.Completion, c.CompletionStreamed, want)
		}
		if c.CompletionUsage.Completion_tokens < 1 || c.CompletionUsage.Total_tokens != c.CompletionUsage.Prompt_tokens+c.CompletionUsage.Completion_tokens {
			t.Errorf("%s %q: usage %+v", c.Model, c.Prompt, c.CompletionUsage)
		}
		ids, err := serve.ProjectChat{Tok: tok}.Prompt([]serve.Message{{Role: "user", Content: c.Prompt}})
		if err != nil {
			t.Fatal(err)
		}
		wantChat := generateText(t, base, dir, ids, maxTokens)
		if c.Chat != wantChat || c.ChatStreamed != wantChat || c.ChatRole != "assistant" {
			t.Errorf("%s %q: chat %q (%s), streamed %q; moslora generate on the chat prompt %q", c.Model, c.Prompt, c.Chat, c.ChatRole, c.ChatStreamed, wantChat)
		}
		distinct[c.Prompt+"\x00"+want] = true
	}
	if len(distinct) <= 2 {
		t.Error("every model wrote the same text: the test cannot tell adapters apart")
	}
}
