package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moslora/moslora/internal/shared"
)

// startServe starts `moslora serve args...` as a child process (this test binary standing in for
// moslora, see TestMain) with env and returns it with the
// address it listens on (read from its JSON log) and its log, complete once logDone is closed
// (the process closed its standard error).
func startServe(t *testing.T, env []string, args ...string) (cmd *exec.Cmd, addr string, log *strings.Builder, logDone chan struct{}) {
	t.Helper()
	cmd = exec.Command(os.Args[0], append([]string{"serve"}, args...)...) // the test binary as moslora (TestMain)
	cmd.Env = append(append(os.Environ(), "MOSLORA_TEST_AS_CLI=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	log = &strings.Builder{}
	logDone = make(chan struct{})
	addrc := make(chan string, 1)
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" && !sent {
				addrc <- rec.Addr
				sent = true
			}
		}
		close(addrc)
	}()
	select {
	case a, ok := <-addrc:
		if !ok {
			<-logDone
			t.Fatalf("serve exited before listening:\n%s", log.String())
		}
		return cmd, a, log, logDone
	case <-time.After(120 * time.Second):
		t.Fatal("serve did not start listening within 120 s")
	}
	return
}

// TestServeDrainsOnSIGTERM: a request in flight when SIGTERM arrives still completes (its stream
// reaches data: [DONE] with a finish reason), the process then exits 0, and nothing listens any more.
// The port and API key come from the environment (MOSLORA_PORT, MOSLORA_API_KEY).
func TestServeDrainsOnSIGTERM(t *testing.T) {
	base := shared.Path(t, "models", "base-19m")
	cmd, addr, log, logDone := startServe(t, []string{"MOSLORA_PORT=0", "MOSLORA_API_KEY=k"}, "--model", base, "--adapters", t.TempDir())
	body := `{"model": "base-19m", "prompt": "Long ago", "max_tokens": 200, "temperature": 0, "stream": true}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() { // the first event: generation is under way
		t.Fatal("no event before SIGTERM")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var last, finish string
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			last = d
			var c struct {
				Choices []struct {
					FinishReason *string `json:"finish_reason"`
				} `json:"choices"`
			}
			if json.Unmarshal([]byte(d), &c) == nil && len(c.Choices) == 1 && c.Choices[0].FinishReason != nil {
				finish = *c.Choices[0].FinishReason
			}
		}
	}
	if last != "[DONE]" || finish != "length" {
		t.Errorf("the request in flight did not finish: last event %q, finish %q", last, finish)
	}
	select {
	case <-logDone:
	case <-time.After(60 * time.Second):
		t.Fatal("serve still running 60 s after SIGTERM")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve exited with %v after SIGTERM, want status 0\n%s", err, log.String())
	}
	// The request was still in flight when the shutdown began: its access-log line comes after.
	l := log.String()
	if i, j := strings.Index(l, "shutting down"), strings.Index(l, `"path":"/v1/completions"`); i < 0 || j < i {
		t.Errorf("the request did not outlive the start of the shutdown:\n%s", l)
	}
	if _, err := http.Get("http://" + addr + "/health"); err == nil {
		t.Error("something still answers on the address after exit")
	}
}

// TestServeRefusesBadFlagsInTheUsersTerms: a bad environment value and a missing model are errors
// naming the variable or the flag.
func TestServeRefusesBadFlagsInTheUsersTerms(t *testing.T) {
	t.Setenv("MOSLORA_MAX_BATCH", "lots")
	_, err := runCLI(t, "serve", "--model", "x")
	if err == nil || !strings.Contains(err.Error(), "MOSLORA_MAX_BATCH") {
		t.Errorf("bad MOSLORA_MAX_BATCH: %v", err)
	}
	t.Setenv("MOSLORA_MAX_BATCH", "")
	os.Unsetenv("MOSLORA_MAX_BATCH")
	if _, err := runCLI(t, "serve"); err == nil || !strings.Contains(err.Error(), "--model") {
		t.Errorf("no model: %v", err)
	}
}

func TestServeNamesAHubSnapshotByItsRepository(t *testing.T) {
	for dir, want := range map[string]string{
		"/root/.cache/huggingface/hub/models--HuggingFaceTB--SmolLM2-135M/snapshots/abc123": "HuggingFaceTB/SmolLM2-135M",
		"/root/.cache/huggingface/hub/models--gpt2/snapshots/e7da7f/":                       "gpt2",
		"../shared/models/base-19m": "",
	} {
		if got := hubName(dir); got != want {
			t.Errorf("hubName(%q) = %q, want %q", dir, got, want)
		}
	}
}
