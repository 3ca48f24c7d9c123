package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moslora/moslora/defaults"
)

// moslora starts `moslora args...` as a child process (the test binary standing in for moslora,
// main_test.go), its stderr captured into errBuf.
func moslora(t *testing.T, errBuf *bytes.Buffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MOSLORA_TEST_AS_CLI=1")
	cmd.Stderr = errBuf
	return cmd
}

// snapshot maps every file under dir to the SHA-256 of its content ("dir" for folders), so a test
// can assert that a refused command left the folder exactly as it was.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			m[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		m[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %s changed or went missing", what, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: %s appeared", what, k)
		}
	}
}

// noGoInternals fails when a message a user sees carries a stack trace or Go internals.
func noGoInternals(t *testing.T, msg string) {
	t.Helper()
	for _, s := range []string{"goroutine ", "panic", ".go:", "runtime.", "Go struct", "Go value"} {
		if strings.Contains(msg, s) {
			t.Errorf("message shows Go internals (%q): %s", s, msg)
		}
	}
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// A second train into the folder of a finished run is refused and changes nothing; --force
// replaces the run.
func TestTrainRefusesFolderOfEarlierRun(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := trainSmall(t, p, out, "--steps", "2"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)
	_, err := trainSmall(t, p, out, "--steps", "2", "--lr", "0.5")
	if err == nil || !strings.Contains(err.Error(), "already holds an earlier run") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second run into a finished folder: %v", err)
	}
	noGoInternals(t, err.Error())
	sameSnapshot(t, "refused run", before, snapshot(t, out))
	if _, err := trainSmall(t, p, out, "--steps", "3", "--force"); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if steps, _ := readMetrics(t, out); len(steps) != 3 {
		t.Errorf("after --force, metrics.jsonl has steps %v, want the new run's 1..3 only", steps)
	}
}

// The folder of a finished run records what produced it: the base model as given, the data with
// its size and SHA-256, the command line, the moslora build and the final loss.
func TestTrainRecordsProvenance(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := trainSmall(t, p, out, "--steps", "2"); err != nil {
		t.Fatal(err)
	}
	if got := readAdapterConfig(t, out)["base_model_name_or_path"]; got != p.ModelDir {
		t.Errorf("base_model_name_or_path %v, want %s", got, p.ModelDir)
	}
	var info struct {
		DataFiles []struct {
			Path   string `json:"path"`
			Bytes  int64  `json:"bytes"`
			SHA256 string `json:"sha256"`
		} `json:"data_files"`
		CommandLine []string       `json:"command_line"`
		Version     map[string]any `json:"moslora_version"`
		FinalLoss   float64        `json:"final_loss"`
		Config      map[string]any `json:"config"`
	}
	b, err := os.ReadFile(filepath.Join(out, "train_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p.Train)
	if len(info.DataFiles) != 1 || info.DataFiles[0].Path != p.Train || info.DataFiles[0].Bytes != st.Size() ||
		info.DataFiles[0].SHA256 != fileSHA(t, p.Train) {
		t.Errorf("data_files %+v, want %s with %d bytes and its SHA-256", info.DataFiles, p.Train, st.Size())
	}
	if len(info.CommandLine) == 0 || info.Version["go"] == nil || !(info.FinalLoss > 0) {
		t.Errorf("command_line %v, moslora_version %v, final_loss %v", info.CommandLine, info.Version, info.FinalLoss)
	}
}

// Two trainings into one folder: while one runs (a separate process), the second refuses naming
// the first's process; SIGTERM then checkpoints and stops it like Ctrl-C, and --resume finishes
// with an adapter byte-identical to an uninterrupted run's.
func TestConcurrentTrainRefusedAndSIGTERMResumesByteIdentical(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	out, ref := filepath.Join(dir, "run"), filepath.Join(dir, "ref")
	flags := []string{"--model", p.ModelDir, "--data", p.Train, "--limit", "8", "--batch", "2", "--max-len", "48",
		"--rank", "2", "--steps", "400", "--method", "moslora"}
	var stderr bytes.Buffer
	child := moslora(t, &stderr, append([]string{"train", "--out", out}, flags...)...)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	// Wait for the child's second update.
	deadline := time.Now().Add(60 * time.Second)
	for lines(filepath.Join(out, "metrics.jsonl")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the child made no progress in 60 s:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := runCLI(t, append([]string{"train", "--out", out, "--resume"}, flags...)...)
	if err == nil || !strings.Contains(err.Error(), "in use by another training") || !strings.Contains(err.Error(), strconv.Itoa(child.Process.Pid)) {
		t.Errorf("second training into a busy folder: %v", err)
	}
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = child.Wait()
	msg := stderr.String()
	if err == nil {
		t.Fatalf("the run finished before SIGTERM reached it; raise --steps:\n%s", msg)
	}
	if !strings.Contains(msg, "training interrupted") || !strings.Contains(msg, "checkpoint saved") {
		t.Fatalf("after SIGTERM:\n%s", msg)
	}
	noGoInternals(t, msg)
	if _, err := os.Stat(filepath.Join(out, ".moslora.lock")); err == nil {
		t.Error("the lock file outlived the interrupted run")
	}
	if _, err := runCLI(t, append([]string{"train", "--out", out, "--resume"}, flags...)...); err != nil {
		t.Fatalf("--resume after SIGTERM: %v", err)
	}
	if _, err := runCLI(t, append([]string{"train", "--out", ref}, flags...)...); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"adapter_model.safetensors", "adapter_config.json"} {
		if fileSHA(t, filepath.Join(out, f)) != fileSHA(t, filepath.Join(ref, f)) {
			t.Errorf("%s after SIGTERM + --resume differs from the uninterrupted run's", f)
		}
	}
}

func lines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// A lock left by a process that no longer runs does not block a new training.
func TestTrainTakesOverStaleLock(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no `true` command to make a dead process id:", err)
	}
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, ".moslora.lock"), []byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0o644)
	if _, err := trainSmall(t, p, out, "--steps", "1"); err != nil {
		t.Fatalf("stale lock of dead process %d blocked training: %v", dead.Process.Pid, err)
	}
	if _, err := os.Stat(filepath.Join(out, ".moslora.lock")); err == nil {
		t.Error("lock file left after the run")
	}
}

// A failure while writing the finished outputs (here: a tokenizer file that cannot be read, as a
// full disk fails a write) leaves the earlier run's outputs untouched and keeps the finished
// training as a checkpoint that loads as an adapter; --resume then writes the outputs without
// training again, byte-identical to an uninterrupted run.
func TestFailedFinalWriteKeepsEarlierOutputsAndAUsableCheckpoint(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	broken := filepath.Join(dir, "model")
	if err := os.CopyFS(broken, os.DirFS(p.ModelDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(broken, "generation_config.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, ref := filepath.Join(dir, "run"), filepath.Join(dir, "ref")
	if _, err := trainSmall(t, p, out, "--steps", "2"); err != nil { // the earlier run
		t.Fatal(err)
	}
	earlier := snapshot(t, out)
	args := []string{"train", "--data", p.Train, "--limit", "16", "--batch", "4", "--steps", "3"}
	_, err := runCLI(t, append(args, "--model", broken, "--out", out, "--force")...)
	if err == nil || !strings.Contains(err.Error(), "--resume") || !strings.Contains(err.Error(), "checkpoint-3") {
		t.Fatalf("failed final write: %v", err)
	}
	noGoInternals(t, err.Error())
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors", "train_config.json"} {
		if earlier[f] == "" || fileSHA(t, filepath.Join(out, f)) != earlier[f] {
			t.Errorf("%s of the earlier run changed", f)
		}
	}
	ckpt := filepath.Join(out, "checkpoint-3")
	if _, err := runCLI(t, "eval", "--model", p.ModelDir, "--adapter", ckpt, "--data", p.Test, "--limit", "4"); err != nil {
		t.Fatalf("eval --adapter %s: %v", ckpt, err)
	}
	os.Remove(filepath.Join(broken, "generation_config.json"))
	if _, err := runCLI(t, append(args, "--model", broken, "--out", out, "--resume")...); err != nil {
		t.Fatalf("--resume after the failed write: %v", err)
	}
	if _, err := runCLI(t, append(args, "--model", broken, "--out", ref)...); err != nil {
		t.Fatal(err)
	}
	if fileSHA(t, filepath.Join(out, "adapter_model.safetensors")) != fileSHA(t, filepath.Join(ref, "adapter_model.safetensors")) {
		t.Error("adapter written by --resume differs from the uninterrupted run's")
	}
}

// Temporary folders of a checkpoint write killed half-way are removed by the next run.
func TestResumeRemovesStaleTemporaryFolders(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := trainSmall(t, p, out, "--steps", "2", "--save-every", "1"); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(out, ".tmp-checkpoint-12345")
	os.MkdirAll(stale, 0o755)
	os.WriteFile(filepath.Join(stale, "params.safetensors"), []byte("half"), 0o644)
	if _, err := trainSmall(t, p, out, "--steps", "2", "--save-every", "1", "--resume"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale temporary checkpoint folder survived --resume")
	}
}

// `--model default` trains on the embedded default, and its adapter names it as its base.
func TestTrainOnEmbeddedDefaultByName(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	if _, err := os.Stat(defaults.Name); err == nil {
		t.Skip("a file named default exists in the package folder")
	}
	if _, err := runCLI(t, "train", "--model", "default", "--data", "default", "--out", out, "--steps", "1", "--batch", "2", "--limit", "4"); err != nil {
		t.Fatal(err)
	}
	if got := readAdapterConfig(t, out)["base_model_name_or_path"]; got != "default" {
		t.Errorf("base_model_name_or_path %v", got)
	}
}

// demo --out refuses the folder of an earlier run before evaluating anything.
func TestDemoRefusesFolderOfEarlierRun(t *testing.T) {
	p := extractDefault(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := trainSmall(t, p, out, "--steps", "1"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)
	_, err := runCLI(t, "demo", "--model", p.ModelDir, "--train", p.Train, "--test", p.Test, "--rows", "4", "--per-task", "1", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "already holds an earlier run") {
		t.Fatalf("demo into a finished run's folder: %v", err)
	}
	sameSnapshot(t, "refused demo", before, snapshot(t, out))
}
