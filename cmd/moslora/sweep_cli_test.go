package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moslora/moslora/defaults"
	"github.com/moslora/moslora/sweep"
)

// tinyInputs extracts the embedded default model and writes a tiny evaluation file: the first
// rows of each task of the default test set.
func tinyInputs(t *testing.T, perTask int) sweep.Inputs {
	t.Helper()
	dir := t.TempDir()
	p, err := defaults.Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p.Test)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct{ Task string }
		json.Unmarshal([]byte(line), &r)
		if count[r.Task] < perTask {
			count[r.Task]++
			keep = append(keep, line)
		}
	}
	test := filepath.Join(dir, "tiny-test.jsonl")
	if err := os.WriteFile(test, []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return sweep.Inputs{Model: p.ModelDir, Data: p.Train, Eval: test}
}

// tinyTrainFlags keep a cell to a few seconds on the default model.
var tinyTrainFlags = []string{"--limit", "24", "--batch", "4", "--rank", "4", "--warmup", "1", "--max-len", "64"}

func sweepArgs(in sweep.Inputs, out string, extra ...string) []string {
	a := []string{"sweep", "--model", in.Model, "--data", in.Data, "--eval", in.Eval, "--out", out, "--threads", "1"}
	return append(append(a, tinyTrainFlags...), extra...)
}

// killingRunner runs one cell as the sweep would, but SIGKILLs it as soon as its first
// checkpoint exists: a cell killed mid-training (no chance to save on the way out).
type killingRunner struct {
	sweep.Exec
	victim string
	killed bool
}

func (k *killingRunner) Run(ctx context.Context, c sweep.Cell, in sweep.Inputs, dir string, threads int) error {
	if c.Name != k.victim {
		return k.Exec.Run(ctx, c, in, dir, threads)
	}
	cmd := exec.Command(k.Exe, k.Args(c, in, dir)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(threads))
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case <-done:
			return fmt.Errorf("the cell ended before it could be killed")
		case <-time.After(2 * time.Millisecond):
		}
		if sweep.Checkpoints(dir) > 0 {
			cmd.Process.Kill()
			<-done
			k.killed = true
			return fmt.Errorf("killed")
		}
	}
}

// TestSweepResumesAfterAKillWithoutRedoingFinishedCells: a sweep whose second cell was killed
// mid-training (SIGKILL after its first checkpoint) is rerun with the same command: the finished
// cell is not run again (its files keep their modification times), the killed cell resumes from
// its checkpoint, and every cell's eval.json and adapter are byte-identical to those of a sweep
// that was never interrupted.
func TestSweepResumesAfterAKillWithoutRedoingFinishedCells(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four tiny cells")
	}
	t.Setenv("MOSLORA_TEST_AS_CLI", "1")
	in := tinyInputs(t, 2)
	steps := []string{"--steps", "24"}
	clean := filepath.Join(t.TempDir(), "clean")
	table, err := runCLI(t, append(sweepArgs(in, clean, "--methods", "lora,moslora", "--seeds", "0"), steps...)...)
	if err != nil {
		t.Fatalf("uninterrupted sweep: %v\n%s", err, table)
	}
	if !strings.Contains(table, "moslora − lora") {
		t.Errorf("the sweep does not end with the compare table:\n%s", table)
	}

	out := filepath.Join(t.TempDir(), "killed")
	exe, _ := os.Executable()
	g := &sweep.Grid{Variants: sweep.ParseMethods("lora,moslora"), Seeds: []int64{0}}
	for i := 0; i < len(tinyTrainFlags); i += 2 {
		g.Fixed = append(g.Fixed, sweep.Flag{Name: tinyTrainFlags[i][2:], Value: tinyTrainFlags[i+1]})
	}
	g.Fixed = append(g.Fixed, sweep.Flag{Name: "steps", Value: "24"})
	k := &killingRunner{Exec: sweep.Exec{Exe: exe, SaveEvery: 50}, victim: "moslora-seed0"}
	k.Exec.SaveEvery = 2
	o, err := sweep.Run(context.Background(), g, in, k, sweep.Options{Out: out, Threads: 1})
	if err == nil || !k.killed || len(o.Ran) != 1 {
		t.Fatalf("sweep with a killed cell: %+v, %v (killed %v)", o, err, k.killed)
	}
	loraEval := filepath.Join(out, "runs", "lora-seed0", "eval.json")
	st0, err := os.Stat(loraEval)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "runs", "moslora-seed0", "eval.json")); err == nil {
		t.Fatal("the killed cell has an eval.json")
	}
	time.Sleep(20 * time.Millisecond) // a rewrite would show in the modification time

	var stderr bytes.Buffer
	rootCmd.SetErr(&stderr)
	defer rootCmd.SetErr(nil)
	table, err = runCLI(t, append(sweepArgs(in, out, "--methods", "lora,moslora", "--seeds", "0", "--save-every", "2"), steps...)...)
	if err != nil {
		t.Fatalf("rerun: %v\n%s\n%s", err, table, stderr.String())
	}
	if !strings.Contains(stderr.String(), "2 cells (1 finished, 1 to run)") {
		t.Errorf("rerun progress does not skip the finished cell:\n%s", stderr.String())
	}
	if st1, _ := os.Stat(loraEval); !st1.ModTime().Equal(st0.ModTime()) {
		t.Errorf("the finished cell's eval.json was rewritten (%v → %v)", st0.ModTime(), st1.ModTime())
	}
	log, _ := os.ReadFile(filepath.Join(out, "runs", "moslora-seed0", sweep.LogFile))
	if !strings.Contains(string(log), "resuming from") {
		t.Errorf("the killed cell did not resume from its checkpoint:\n%s", log)
	}
	for _, cell := range []string{"lora-seed0", "moslora-seed0"} {
		for _, f := range []string{"eval.json", "adapter_model.safetensors"} {
			a, errA := os.ReadFile(filepath.Join(clean, "runs", cell, f))
			b, errB := os.ReadFile(filepath.Join(out, "runs", cell, f))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("%s/%s differs from the uninterrupted sweep's (%v, %v)", cell, f, errA, errB)
			}
		}
	}
}

// TestSweepErrorsNameTheFlag: bad input stops the sweep before any cell runs, with an error in
// the user's terms.
func TestSweepErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "rows.jsonl")
	os.WriteFile(f, []byte(`{"text": "x"}`+"\n"), 0o644)
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", dir}, "--model, --data, --eval and --out are required"},
		{[]string{"--model", filepath.Join(dir, "none"), "--data", f, "--eval", f, "--out", out}, "--model " + filepath.Join(dir, "none")},
		{[]string{"--model", dir, "--data", f, "--eval", f, "--out", out, "--rank", "4,x"}, `--rank "x": expected an integer`},
		{[]string{"--model", dir, "--data", f, "--eval", f, "--out", out, "--lr", "1e-3,fast"}, `--lr "fast": expected a number`},
		{[]string{"--model", dir, "--data", f, "--eval", f, "--out", out, "--bogus", "1"}, "unknown flag: --bogus"},
		{[]string{"--model", dir, "--data", f, "--eval", f, "--out", out, "--seeds", "2-1"}, `--seeds "2-1"`},
		{[]string{"--model", dir, "--data", f, "--eval", f, "--out", out, "--metric", "f1"}, `--metric "f1"`},
		{[]string{"--model", dir, "--data", f, "--eval", f, "--out", out, "--methods", "lora,dora"}, `method dora: train: method "dora"`},
		{[]string{"--model", dir, "--data", f, "--eval", f, "--out", out, "--grid", filepath.Join(dir, "none.json")}, "none.json"},
	} {
		_, err := runCLI(t, append([]string{"sweep"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sweep %v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a sweep with bad input created its output folder")
	}
}
