package train

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func touch(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenOutHoldsTheFolderAgainstASecondHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var msg bytes.Buffer
	o, err := OpenOut(dir, false, false, &msg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LockFile))
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock holds %q, want this process's id", b)
	}
	if _, err := OpenOut(dir, true, true, &msg); err == nil || !strings.Contains(err.Error(), "in use by another training") {
		t.Fatalf("second holder: %v", err)
	}
	o.Close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an output folder created by OpenOut and left empty should go with Close: %v", err)
	}
}

func TestOpenOutTakesOverADeadProcesssLockAndCleansTemporaries(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip(err)
	}
	touch(t, filepath.Join(dir, LockFile), strconv.Itoa(dead.Process.Pid)+"\n")
	touch(t, filepath.Join(dir, tmpCheckpointPrefix+"123", paramsFile), "half")
	touch(t, filepath.Join(dir, tmpFinalPrefix+"456", "adapter_model.safetensors"), "half")
	var msg bytes.Buffer
	o, err := OpenOut(dir, false, false, &msg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if !strings.Contains(msg.String(), "taking over the lock") || !strings.Contains(msg.String(), strconv.Itoa(dead.Process.Pid)) {
		t.Errorf("no takeover message: %q", msg.String())
	}
	if !strings.Contains(msg.String(), "removed 2 temporary folder") {
		t.Errorf("no cleanup message: %q", msg.String())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != LockFile {
		t.Errorf("left %v", ents)
	}
}

func TestOpenOutRefusesEarlierRunsUnlessResumeOrForce(t *testing.T) {
	for _, c := range []struct {
		files         []string
		resume, force bool
		wantErr       string
	}{
		{[]string{"adapter_config.json"}, false, false, "already holds an earlier run"},
		{[]string{MetricsFile}, false, false, "already holds an earlier run"},
		{[]string{"checkpoint-4/state.json"}, false, false, "checkpoint-4"},
		{[]string{"model.safetensors", "config.json"}, false, false, "model.safetensors"},
		{[]string{"adapter_config.json", "adapter_model.safetensors"}, true, false, "no checkpoint to resume from"},
		{[]string{"checkpoint-4/state.json", MetricsFile}, true, false, ""},
		{[]string{"adapter_config.json", MetricsFile, "checkpoint-2/state.json"}, false, true, ""},
		{[]string{"notes.txt"}, false, false, ""},
	} {
		dir := t.TempDir()
		for _, f := range c.files {
			touch(t, filepath.Join(dir, f), "x")
		}
		o, err := OpenOut(dir, c.resume, c.force, &bytes.Buffer{})
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%v resume=%v force=%v: %v", c.files, c.resume, c.force, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%v resume=%v force=%v: error %v, want %q", c.files, c.resume, c.force, err, c.wantErr)
		}
		if err != nil {
			if _, serr := os.Stat(filepath.Join(dir, LockFile)); serr == nil {
				t.Errorf("%v: a refused OpenOut left its lock", c.files)
			}
			continue
		}
		if c.force { // the earlier run's checkpoints and metrics go; its outputs wait for Commit
			if _, err := os.Stat(filepath.Join(dir, "checkpoint-2")); err == nil {
				t.Error("--force kept the earlier checkpoint")
			}
			if _, err := os.Stat(filepath.Join(dir, "adapter_config.json")); err != nil {
				t.Error("--force removed the earlier outputs before this run finished")
			}
		}
		o.Close()
	}
}

// Commit replaces the earlier outputs only when the new ones are complete, and moves the files
// that make the folder look complete in last.
func TestCommitIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "adapter_config.json"), "old config")
	touch(t, filepath.Join(dir, "adapter_model.safetensors"), "old weights")
	touch(t, filepath.Join(dir, "eval.json"), "old eval")
	o, err := OpenOut(dir, false, true, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	boom := errors.New("no space left on device")
	err = o.Commit(func(tmp string) error {
		touch(t, filepath.Join(tmp, "adapter_model.safetensors"), "new weights")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("commit error %v", err)
	}
	for name, want := range map[string]string{"adapter_config.json": "old config", "adapter_model.safetensors": "old weights", "eval.json": "old eval"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("after a failed commit %s holds %q", name, b)
		}
	}
	if err := o.Commit(func(tmp string) error {
		touch(t, filepath.Join(tmp, "adapter_model.safetensors"), "new weights")
		touch(t, filepath.Join(tmp, "adapter_config.json"), "new config")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"adapter_config.json": "new config", "adapter_model.safetensors": "new weights"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("after commit %s holds %q", name, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "eval.json")); err == nil {
		t.Error("the earlier run's eval.json survived beside the new adapter")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary %s left", e.Name())
		}
	}
}
