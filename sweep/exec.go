package sweep

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LogFile is where a cell's train output goes (appended to across resumptions).
const LogFile = "train.log"

// Exec runs each cell as a child process `Exe train …` — the same binary as the sweep. A child
// process per cell isolates failures (a crash or out-of-memory kill loses one cell, not the
// sweep), gives each cell its own thread count (GOMAXPROCS is per process; the kernels use it),
// and makes interruption natural: the child saves a checkpoint on SIGINT and `train --resume`
// continues it.
type Exec struct {
	Exe       string   // the moslora binary (os.Executable())
	Extra     []string // arguments for every cell that do not change its result (e.g. --eval-limit)
	SaveEvery int      // checkpoint every N updates, so a killed cell loses at most N (0: only on SIGINT)
	Env       []string // added to the environment
}

// Args is the command line of a cell (without the binary).
func (e Exec) Args(c Cell, in Inputs, dir string) []string {
	args := []string{"train", "--model", in.Model, "--data", in.Data, "--eval", in.Eval, "--out", dir,
		"--method", c.Method, "--seed", strconv.FormatInt(c.Seed, 10), "--resume"}
	if e.SaveEvery > 0 {
		args = append(args, "--save-every", strconv.Itoa(e.SaveEvery))
	}
	for _, f := range c.Flags {
		args = append(args, "--"+f.Name+"="+f.Value)
	}
	return append(args, e.Extra...)
}

// Run implements Runner.
func (e Exec) Run(ctx context.Context, c Cell, in Inputs, dir string, threads int) error {
	logPath := filepath.Join(dir, LogFile)
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	defer log.Close()
	args := e.Args(c, in, dir)
	fmt.Fprintf(log, "# %s %s %q (GOMAXPROCS=%d)\n", time.Now().UTC().Format(time.RFC3339), e.Exe, args, threads)
	cmd := exec.CommandContext(ctx, e.Exe, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(append(os.Environ(), e.Env...), "GOMAXPROCS="+strconv.Itoa(threads))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // train saves a checkpoint
	cmd.WaitDelay = 2 * time.Minute                                       // then kill
	if err := cmd.Run(); err != nil {
		if last := lastLine(logPath); last != "" {
			return fmt.Errorf("%v: %s (see %s)", err, last, logPath)
		}
		return fmt.Errorf("%v (see %s)", err, logPath)
	}
	return nil
}

// lastLine is the last non-empty line of a file (the child's error message when it failed).
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Checkpoints counts the checkpoint folders (checkpoint-<step>) a cell's folder holds.
func Checkpoints(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*"))
	return len(m)
}
