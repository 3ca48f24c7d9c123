package serve

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/tokenizer"
)

// generateAlone is `moslora generate --temperature 0` in-process (jobs.Generate: the adapter, if
// any, attached to a freshly loaded model, the prompt encoded with special tokens): the text after
// the prompt.
func generateAlone(t *testing.T, adapterDir, prompt string, maxNew int) string {
	t.Helper()
	dir := baseDir(t)
	var promptText *string
	res, err := jobs.Generate(jobs.GenerateJob{Model: dir, Adapter: adapterDir, Prompt: prompt,
		Options: generate.Options{MaxNewTokens: maxNew}}, func(s string) error {
		if promptText == nil {
			promptText = &s // the first call: the prompt's text
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Text[len(*promptText):]
}

// TestGreedyTextIsTheSameBatchedAloneAndAsGenerate: 24 concurrent greedy requests over the base and
// two adapters, batched, give for each model and prompt the text the same request gets alone on a
// server without batching and the text `moslora generate` writes.
func TestGreedyTextIsTheSameBatchedAloneAndAsGenerate(t *testing.T) {
	_, batched := newTestServer(t, Options{MaxBatch: 32})
	_, alone := newTestServer(t, Options{MaxBatch: 1})
	prompts := []string{"The President said", "Once upon a time", "func main() {", "In the year of our Lord"}
	models := []string{"base-19m", "alpha", "beta"}
	const maxNew = 12
	type key struct{ model, prompt string }
	got := map[key]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for rep := 0; rep < 2; rep++ {
		for _, mn := range models {
			for _, p := range prompts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					text, _ := completionText(t, batched.URL, mn, p, maxNew)
					mu.Lock()
					defer mu.Unlock()
					if prev, ok := got[key{mn, p}]; ok && prev != text {
						t.Errorf("%s %q: two batched runs differ: %q vs %q", mn, p, prev, text)
					}
					got[key{mn, p}] = text
				}()
			}
		}
	}
	wg.Wait()
	texts := map[string]map[string]bool{} // prompt → distinct texts over models
	for _, mn := range models {
		for _, p := range prompts {
			want, _ := completionText(t, alone.URL, mn, p, maxNew)
			if got[key{mn, p}] != want {
				t.Errorf("%s %q: batched %q, alone %q", mn, p, got[key{mn, p}], want)
			}
			dir := ""
			if mn != "base-19m" {
				dir = filepath.Join(adaptersDir(t), mn)
			}
			if g := generateAlone(t, dir, p, maxNew); g != want {
				t.Errorf("%s %q: server %q, moslora generate %q", mn, p, want, g)
			}
			if texts[p] == nil {
				texts[p] = map[string]bool{}
			}
			texts[p][want] = true
		}
	}
	distinct := 0
	for _, ts := range texts {
		distinct += len(ts)
	}
	if distinct <= len(prompts) {
		t.Errorf("the adapters never changed the text: the test cannot tell adapters apart")
	}
}

func TestModelsListsTheBaseAndEveryAdapterWithItsParent(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	resp, err := http.Get(hs.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list modelList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list.Data {
		parent := ""
		if c.Parent != nil {
			parent = *c.Parent
		}
		ids = append(ids, c.ID+"<"+parent)
	}
	if want := "base-19m<,alpha<base-19m,beta<base-19m"; strings.Join(ids, ",") != want {
		t.Errorf("models %s, want %s", strings.Join(ids, ","), want)
	}
}

func TestWrongOrMissingAPIKeyGets401(t *testing.T) {
	_, hs := newTestServer(t, Options{APIKey: "sekret"})
	body := map[string]any{"model": "base-19m", "prompt": "Hi", "max_tokens": 1}
	for _, key := range []string{"", "wrong", "sekret2"} {
		code, _, b := post(t, hs.URL+"/v1/completions", key, body)
		if code != 401 {
			t.Errorf("key %q: status %d, want 401", key, code)
		}
		if e := errorBody(t, b); e.Code == nil || *e.Code != "invalid_api_key" {
			t.Errorf("key %q: error %+v", key, e)
		}
	}
	if code, _, b := post(t, hs.URL+"/v1/completions", "sekret", body); code != 200 {
		t.Errorf("right key: status %d: %s", code, b)
	}
	if resp, err := http.Get(hs.URL + "/health"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/health needs no key: %v %v", resp, err)
	}
}

func TestOverLongPromptGets400NamingTheLimit(t *testing.T) {
	_, hs := newTestServer(t, Options{MaxContext: 64})
	long := strings.Repeat("the quick brown fox ", 40)
	for _, body := range []map[string]any{
		{"model": "alpha", "prompt": long, "max_tokens": 4},
		{"model": "base-19m", "prompt": "short", "max_tokens": 100},
		{"model": "base-19m", "messages": []map[string]string{{"role": "user", "content": long}}},
	} {
		url := hs.URL + "/v1/completions"
		if body["messages"] != nil {
			url = hs.URL + "/v1/chat/completions"
		}
		code, _, b := post(t, url, "", body)
		if code != 400 {
			t.Fatalf("status %d, want 400: %s", code, b)
		}
		e := errorBody(t, b)
		if !strings.Contains(e.Message, "64") || !strings.Contains(e.Message, "--max-context") || e.Code == nil || *e.Code != "context_length_exceeded" {
			t.Errorf("error does not name the limit: %+v", e)
		}
	}
}

func TestBadRequestsGetOpenAIErrors(t *testing.T) {
	_, hs := newTestServer(t, Options{MaxBody: 200})
	cases := []struct {
		body any
		code int
		want string
	}{
		{map[string]any{"model": "nope", "prompt": "x"}, 404, "does not exist"},
		{map[string]any{"prompt": "x"}, 400, "model is required"},
		{map[string]any{"model": "base-19m", "prompt": "x", "temperature": 3}, 400, "temperature"},
		{map[string]any{"model": "base-19m", "prompt": "x", "n": 2}, 400, "one choice"},
		{map[string]any{"model": "base-19m", "prompt": strings.Repeat("x", 300)}, 413, "--max-body"},
		{"not an object", 400, "invalid JSON"},
	}
	for _, c := range cases {
		code, _, b := post(t, hs.URL+"/v1/completions", "", c.body)
		if code != c.code || !strings.Contains(errorBody(t, b).Message, c.want) {
			t.Errorf("%v: status %d %s, want %d %q", c.body, code, b, c.code, c.want)
		}
	}
}

// TestStreamEndsWithDoneAndConcatenatesToTheText: completions and chat, streamed, give the
// non-streamed text piece by piece, a final finish_reason, usage on request, then data: [DONE].
func TestStreamEndsWithDoneAndConcatenatesToTheText(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	for _, chat := range []bool{false, true} {
		body := map[string]any{"model": "beta", "max_tokens": 10, "temperature": 0}
		url := hs.URL + "/v1/completions"
		if chat {
			url = hs.URL + "/v1/chat/completions"
			body["messages"] = []map[string]string{{"role": "user", "content": "What is a noun?"}}
		} else {
			body["prompt"] = "A noun is"
		}
		code, _, whole := post(t, url, "", body)
		if code != 200 {
			t.Fatalf("status %d: %s", code, whole)
		}
		body["stream"] = true
		body["stream_options"] = map[string]bool{"include_usage": true}
		b, _ := json.Marshal(body)
		resp, err := http.Post(url, "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		evs := sseEvents(t, resp.Body)
		resp.Body.Close()
		if len(evs) < 3 || evs[len(evs)-1] != "[DONE]" {
			t.Fatalf("chat=%v: stream does not end with [DONE]: %v", chat, evs)
		}
		var text strings.Builder
		var finish string
		var u *usage
		for _, ev := range evs[:len(evs)-1] {
			var c struct {
				Choices []struct {
					Text         string                   `json:"text"`
					Delta        struct{ Content string } `json:"delta"`
					FinishReason *string                  `json:"finish_reason"`
				} `json:"choices"`
				Usage *usage `json:"usage"`
			}
			if err := json.Unmarshal([]byte(ev), &c); err != nil {
				t.Fatalf("bad event %s", ev)
			}
			if c.Usage != nil {
				u = c.Usage
			}
			for _, ch := range c.Choices {
				text.WriteString(ch.Text + ch.Delta.Content)
				if ch.FinishReason != nil {
					finish = *ch.FinishReason
				}
			}
		}
		var want string
		var wu usage
		if chat {
			var r chatResponse
			json.Unmarshal(whole, &r)
			want, wu = r.Choices[0].Message.Content, *r.Usage
		} else {
			var r completionResponse
			json.Unmarshal(whole, &r)
			want, wu = r.Choices[0].Text, *r.Usage
		}
		if text.String() != want || finish == "" || u == nil || *u != wu {
			t.Errorf("chat=%v: streamed %q (finish %q, usage %+v), whole %q (usage %+v)", chat, text.String(), finish, u, want, wu)
		}
	}
}

// TestFullQueueGets429WithRetryAfter: one sequence running, one waiting (queue of one), the third
// request is refused at once.
func TestFullQueueGets429WithRetryAfter(t *testing.T) {
	s, hs := newTestServer(t, Options{MaxBatch: 1, MaxQueue: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := map[string]any{"model": "base-19m", "prompt": "Long ago", "max_tokens": 900, "temperature": 0}
	for i := 0; i < 2; i++ {
		b, _ := json.Marshal(long)
		req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/completions", strings.NewReader(string(b)))
		go http.DefaultClient.Do(req)
	}
	waitFor(t, "one running and one queued", func() bool { return s.Running() == 1 && len(s.sched.queue) == 1 })
	code, h, b := post(t, hs.URL+"/v1/completions", "", long)
	if code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q: %s", code, h.Get("Retry-After"), b)
	}
	if e := errorBody(t, b); !strings.Contains(e.Message, "--max-queue") {
		t.Errorf("error does not name the limit: %s", e.Message)
	}
}

// TestClientDisconnectFreesItsSlot: a streaming client that goes away mid-generation leaves the
// batch, and the next request runs in its place.
func TestClientDisconnectFreesItsSlot(t *testing.T) {
	s, hs := newTestServer(t, Options{MaxBatch: 1})
	ctx, cancel := context.WithCancel(context.Background())
	b, _ := json.Marshal(map[string]any{"model": "alpha", "prompt": "Long ago", "max_tokens": 900, "temperature": 0, "stream": true})
	req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/completions", strings.NewReader(string(b)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil { // generation has started
		t.Fatal(err)
	}
	if s.Running() != 1 {
		t.Fatalf("running %d, want 1", s.Running())
	}
	cancel()
	resp.Body.Close()
	waitFor(t, "the slot to be freed", func() bool { return s.Running() == 0 })
	done := make(chan string, 1)
	go func() {
		text, _ := completionText(t, hs.URL, "base-19m", "Hello", 3)
		done <- text
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("a request after the disconnect did not run")
	}
}

func TestRequestTimeoutGets504(t *testing.T) {
	_, hs := newTestServer(t, Options{Timeout: time.Millisecond})
	code, _, b := post(t, hs.URL+"/v1/completions", "", map[string]any{"model": "base-19m", "prompt": "Hello", "max_tokens": 500})
	if code != 504 || !strings.Contains(errorBody(t, b).Message, "--request-timeout") {
		t.Errorf("status %d: %s", code, b)
	}
}

// TestRuntimeLoadStaysInsideTheAdaptersFolder: traversal, absolute paths and a symlink to an
// adapter outside the folder are refused; a folder inside loads, serves and unloads.
func TestRuntimeLoadStaysInsideTheAdaptersFolder(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	src := adaptersDir(t)
	copyDir(t, filepath.Join(src, "alpha"), filepath.Join(root, "gamma"))
	copyDir(t, filepath.Join(src, "beta"), filepath.Join(outside, "secret"))
	if err := os.Mkdir(filepath.Join(root, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, off := newTestServer(t, Options{AdaptersDir: root})
	if code, _, _ := post(t, off.URL+"/v1/load_lora_adapter", "", loraRequest{"g", "gamma"}); code != 404 {
		t.Errorf("runtime loading without the flag: status %d, want 404", code)
	}
	_, hs := newTestServer(t, Options{AdaptersDir: root, RuntimeLoad: true})
	// Symlinks out of the folder, made after the start (at the start they are refused: below).
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../" + filepath.Base(outside) + "/secret", filepath.Join(outside, "secret"), "gamma/../../x",
		"inner/../../" + filepath.Base(outside) + "/secret", "link", "up/secret", "missing", ""} {
		code, _, b := post(t, hs.URL+"/v1/load_lora_adapter", "", loraRequest{"evil", p})
		if code != 400 {
			t.Errorf("lora_path %q: status %d, want 400: %s", p, code, b)
			continue
		}
		t.Logf("lora_path %q: %s", p, errorBody(t, b).Message)
	}
	if code, _, _ := post(t, hs.URL+"/v1/completions", "", map[string]any{"model": "evil", "prompt": "x", "max_tokens": 1}); code != 404 {
		t.Errorf("a refused adapter is served: status %d", code)
	}
	if code, _, b := post(t, hs.URL+"/v1/load_lora_adapter", "", loraRequest{"g2", "gamma"}); code != 200 {
		t.Fatalf("load: %d %s", code, b)
	}
	if code, _, b := post(t, hs.URL+"/v1/load_lora_adapter", "", loraRequest{"g2", "gamma"}); code != 400 {
		t.Errorf("loading a name twice: %d %s", code, b)
	}
	want, _ := completionText(t, hs.URL, "gamma", "Once upon a time", 8) // loaded at start as its folder
	if got, _ := completionText(t, hs.URL, "g2", "Once upon a time", 8); got != want {
		t.Errorf("runtime-loaded adapter %q, the same adapter loaded at start %q", got, want)
	}
	if code, _, b := post(t, hs.URL+"/v1/unload_lora_adapter", "", loraRequest{LoraName: "g2"}); code != 200 {
		t.Fatalf("unload: %d %s", code, b)
	}
	if code, _, _ := post(t, hs.URL+"/v1/completions", "", map[string]any{"model": "g2", "prompt": "x", "max_tokens": 1}); code != 404 {
		t.Errorf("an unloaded adapter is served: status %d", code)
	}
	if code, _, _ := post(t, hs.URL+"/v1/unload_lora_adapter", "", loraRequest{LoraName: "g2"}); code != 404 {
		t.Errorf("unloading twice: status %d, want 404", code)
	}
	if _, err := New(Options{ModelDir: baseDir(t), AdaptersDir: root}); err == nil || !strings.Contains(err.Error(), "outside the adapters directory") {
		t.Errorf("a server started on a folder with a symlink out of it: %v", err)
	}
}

func TestMetricsCountRequestsAndTokens(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	completionText(t, hs.URL, "alpha", "Hello there", 5)
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		b.WriteString(string(buf[:n]))
		if err != nil {
			break
		}
	}
	for _, want := range []string{`moslora_requests_total{code="200",endpoint="/v1/completions"} 1`,
		`moslora_generation_tokens_total{model="alpha"} 5`, "moslora_queue_depth 0", "moslora_request_duration_seconds_bucket",
		"moslora_time_to_first_token_seconds_count 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChatUsesTheModelsTemplateWhenItHasOne: a model folder with a chat_template renders chat
// requests with it (the prompt's token count is that of the rendered text).
func TestChatUsesTheModelsTemplateWhenItHasOne(t *testing.T) {
	base := baseDir(t)
	dir := t.TempDir()
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"} {
		if err := os.Symlink(filepath.Join(base, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(base, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tc map[string]any
	if err := json.Unmarshal(cfg, &tc); err != nil {
		t.Fatal(err)
	}
	tc["chat_template"] = "{% for m in messages %}<{{ m.role }}> {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
	cfg, _ = json.Marshal(tc)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	_, hs := newTestServer(t, Options{ModelDir: dir})
	code, _, b := post(t, hs.URL+"/v1/chat/completions", "", map[string]any{"model": filepath.Base(dir), "max_tokens": 2, "temperature": 0,
		"messages": []map[string]string{{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}}})
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	var r chatResponse
	json.Unmarshal(b, &r)
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := len(tok.Encode("<system> Be brief.\n<user> Hello there\n<assistant>", false))
	if r.Usage == nil || r.Usage.PromptTokens != want {
		t.Errorf("prompt tokens %+v, want %d (the model's template)", r.Usage, want)
	}
	project, _ := ProjectChat{tok}.Prompt([]Message{{"system", "Be brief."}, {"user", "Hello there"}})
	if len(project) == want {
		t.Fatal("the project format and the test template give the same length: the test cannot tell them apart")
	}
}
