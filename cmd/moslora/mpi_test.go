//go:build mpi

package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/mpi/mpitest"
	"github.com/moslora/moslora/safetensors"
)

// These tests start the test binary itself under mpirun: with MOSLORA_TEST_AS_CLI=1 (TestMain,
// main_test.go) it runs `moslora <args>` (main) instead of the tests, so every rank is the real
// command. They skip when mpirun is not installed; .ci/run installs Open MPI and runs them (go
// test -tags mpi).

// failRankVar names a rank that runs its arguments with a missing --data file instead (to test
// that a failing rank ends the job); init rewrites that rank's arguments before TestMain runs
// them.
const failRankVar = "MOSLORA_MPI_TEST_FAIL_RANK"

// hangLimit ends a job that has not finished: far beyond these small runs' time even on a loaded
// machine, so only a hang reaches it.
const hangLimit = 3 * time.Minute

// A run on 2 ranks against 1 with the same global batch (issue 19's acceptance) adds the same
// per-token gradients in another order: each step's loss is within numtest.F32 (another float32
// summation order), each adapter tensor after the run within numtest.F32Model (relative L2:
// AdamW's normalised steps carry the rounding into the parameters).

func init() {
	if r := os.Getenv(failRankVar); r != "" && r == os.Getenv("OMPI_COMM_WORLD_RANK") {
		for i := range os.Args[:len(os.Args)-1] {
			if os.Args[i] == "--data" {
				os.Args[i+1] += ".missing"
			}
		}
	}
}

// launch runs `moslora args…` as np ranks under mpirun (np 0: this process alone, no launcher),
// one thread per rank, and returns its standard output and error.
func launch(t *testing.T, np int, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env = append(env, "MOSLORA_TEST_AS_CLI=1", "GOMAXPROCS=1")
	var cmd *exec.Cmd
	if np == 0 {
		cmd = exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), env...)
	} else {
		if cmd, err = mpitest.Mpirun(np, env, os.Args[0], args...); err != nil {
			t.Skip(err)
		}
		cmd.Env = append(os.Environ(), env...)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A job that hangs (a rank waiting for one that stopped) fails the test instead of blocking it.
	hung := time.AfterFunc(hangLimit, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	if !hung.Stop() {
		t.Fatalf("moslora %s on %d ranks did not end within %s:\n%s", args[0], np, hangLimit, e.String())
	}
	return o.String(), e.String(), err
}

func readTensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	for _, n := range f.Names() {
		v, _, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = append([]float32(nil), v...)
	}
	return out
}

func TestMPITrainMatchesOneRank(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"train", "--model", p.ModelDir, "--data", p.Train, "--out", out, "--limit", "160",
			"--batch", "8", "--steps", "20", "--warmup", "2", "--max-len", "96", "--rank", "8", "--log-every", "10"}
	}
	one, two := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	if _, e, err := launch(t, 0, nil, args(one)...); err != nil {
		t.Fatalf("one process: %v\n%s", err, e)
	}
	if _, e, err := launch(t, 2, nil, args(two)...); err != nil {
		t.Fatalf("mpirun -np 2: %v\n%s", err, e)
	}
	_, want := readMetrics(t, one)
	_, got := readMetrics(t, two)
	if len(got) != 20 || len(want) != 20 {
		t.Fatalf("logged %d and %d steps, want 20", len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		rel := math.Abs(got[i]-want[i]) / math.Abs(want[i])
		worst = math.Max(worst, rel)
		if rel > numtest.F32 {
			t.Errorf("step %d: loss %.8g on 2 ranks, %.8g on 1", i+1, got[i], want[i])
		}
	}
	a := readTensors(t, filepath.Join(one, "adapter_model.safetensors"))
	b := readTensors(t, filepath.Join(two, "adapter_model.safetensors"))
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d adapter tensors", len(a), len(b))
	}
	worstW := 0.0
	for name, w := range a {
		rel := numtest.RelL2(b[name], w)
		worstW = math.Max(worstW, rel)
		if rel > numtest.F32Model {
			t.Errorf("%s: relative L2 %.3g between 2 ranks and 1", name, rel)
		}
	}
	t.Logf("2 ranks vs 1: worst step loss rel %.2g, worst adapter tensor rel L2 %.2g", worst, worstW)
}

func TestMPIEvalEqualsOneRankExactly(t *testing.T) {
	p := extractDefault(t)
	args := []string{"eval", "--model", p.ModelDir, "--data", p.Test, "--limit", "24", "--max-len", "96", "--json"}
	want, e, err := launch(t, 0, nil, args...)
	if err != nil {
		t.Fatalf("one process: %v\n%s", err, e)
	}
	// np 1 too: the only rank of a job must finalise MPI, or mpirun fails the job.
	for _, np := range []int{1, 2} {
		got, e, err := launch(t, np, nil, args...)
		if err != nil {
			t.Fatalf("mpirun -np %d: %v\n%s", np, err, e)
		}
		if !strings.Contains(want, "avg_score") || got != want {
			t.Fatalf("%d ranks printed\n%s\none process printed\n%s", np, got, want)
		}
	}
}

func TestMPIFailingRankEndsTheJobWithItsError(t *testing.T) {
	p := extractDefault(t)
	start := time.Now()
	_, e, err := launch(t, 2, []string{failRankVar + "=1"}, "train", "--model", p.ModelDir, "--data", p.Train,
		"--out", t.TempDir(), "--limit", "16", "--batch", "4", "--steps", "1000")
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the job ended with %v, want a non-zero exit\n%s", err, e)
	}
	if !strings.Contains(e, "rank 1 of 2") || !strings.Contains(e, "train.jsonl.missing") {
		t.Errorf("stderr does not carry rank 1's error about its missing --data file:\n%s", e)
	}
	t.Logf("job ended %s after start (exit %d)", took.Round(time.Millisecond), ee.ExitCode())
}
