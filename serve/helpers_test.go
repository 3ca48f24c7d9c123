package serve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
)

// baseDir is base-19m in ../shared (the test skips when it is absent).
func baseDir(t testing.TB) string { return shared.Path(t, "models", "base-19m") }

// writeAdapter saves a random adapter for the model in modelDir to dir: the given mixer on q and v
// (and the MLP with mlp), B drawn small so the adapter changes the greedy text without wrecking it.
func writeAdapter(t testing.TB, m *model.Model, dir, mixer string, seed uint64, mlp bool) {
	t.Helper()
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.LoraAlpha = 8, 16
	cfg.TargetModules = adapter.Targets{List: []string{"q_proj", "v_proj"}}
	if mlp {
		cfg.TargetModules.List = append(cfg.TargetModules.List, "gate_proj", "up_proj", "down_proj")
	}
	if mixer == "moslora" {
		cfg.LoraUseMixer = true
	}
	a, err := adapter.New(cfg, m, int64(seed))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Detach() // the model is left as it was
	r := rand.New(rand.NewPCG(seed, 7))
	for _, l := range a.Linears {
		for i := range l.B {
			l.B[i] = float32(0.02 * r.NormFloat64())
		}
	}
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

// adaptersDir returns a folder (shared by the package's tests) with two adapters for base-19m:
// "alpha" (LoRA on q, v) and "beta" (MoSLoRA on q, v and the MLP).
func adaptersDir(t testing.TB) string {
	t.Helper()
	base := baseDir(t)
	fixtureOnce.Do(func() {
		var m *model.Model
		if m, fixtureErr = model.Load(base); fixtureErr != nil {
			return
		}
		fixtureDir, fixtureErr = os.MkdirTemp("", "moslora-serve-adapters-")
		if fixtureErr != nil {
			return
		}
		writeAdapter(t, m, filepath.Join(fixtureDir, "alpha"), "lora", 1, false)
		writeAdapter(t, m, filepath.Join(fixtureDir, "beta"), "moslora", 2, true)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// newTestServer starts a Server on base-19m with the two test adapters behind httptest.
func newTestServer(t testing.TB, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	if opt.ModelDir == "" {
		opt.ModelDir = baseDir(t)
	}
	if opt.AdaptersDir == "" {
		opt.AdaptersDir = adaptersDir(t)
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, hs
}

// post sends body as JSON with an optional API key and returns the status, headers and body.
func post(t testing.TB, url, key string, body any) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// completionText posts a greedy completion and returns its text and finish reason.
func completionText(t testing.TB, url, modelName, prompt string, maxTokens int) (string, string) {
	t.Helper()
	code, _, body := post(t, url+"/v1/completions", "", map[string]any{"model": modelName, "prompt": prompt, "max_tokens": maxTokens, "temperature": 0})
	if code != 200 {
		t.Fatalf("completion for %s: status %d: %s", modelName, code, body)
	}
	var r completionResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Choices) != 1 {
		t.Fatalf("completion for %s: bad body %s", modelName, body)
	}
	return r.Choices[0].Text, *r.Choices[0].FinishReason
}

// sseEvents reads server-sent events until "data: [DONE]" (included) or the end of the body.
func sseEvents(t testing.TB, body io.Reader) []string {
	t.Helper()
	var evs []string
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			evs = append(evs, data)
			if data == "[DONE]" {
				break
			}
		}
	}
	return evs
}

// errorBody decodes an OpenAI error body.
func errorBody(t testing.TB, body []byte) apiError {
	t.Helper()
	var e struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	return e.Error
}
