package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
)

// TorchResult is the JSON line the PyTorch anchor (../shared/bench/torch_anchor.py) prints.
type TorchResult struct {
	Torch       string  `json:"torch"` // PyTorch version
	Threads     int     `json:"threads"`
	Trainable   int     `json:"trainable"`
	StepSMedian float64 `json:"step_s_median"`
	TokensPerS  float64 `json:"tokens_per_s"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
}

// torchArgs are the anchor's arguments for case c with the bench's settings.
func torchArgs(script string, c Case, modelDir string, warmup, steps, threads int) []string {
	args := []string{script, "--method", string(c.Method), "--rank", strconv.Itoa(Rank),
		"--alpha", strconv.Itoa(Alpha), "--batch", strconv.Itoa(Batch), "--seq", strconv.Itoa(Seq),
		"--steps", strconv.Itoa(steps), "--warmup", strconv.Itoa(warmup), "--threads", strconv.Itoa(threads)}
	if c.Model == Model135M {
		return append(args, "--shape", "smollm-135m")
	}
	return append(args, "--model", modelDir)
}

// runTorch runs the anchor for case c and parses its last output line.
func runTorch(ctx context.Context, python, script string, c Case, modelDir string, warmup, steps, threads int, log io.Writer) (*TorchResult, error) {
	cmd := exec.CommandContext(ctx, python, torchArgs(script, c, modelDir, warmup, steps, threads)...)
	cmd.Stderr = log
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bench: PyTorch anchor %s (%s) for %s: %w", script, python, c.Name, err)
	}
	var r TorchResult
	if err := json.Unmarshal(lastLine(out), &r); err != nil || r.StepSMedian <= 0 {
		return nil, fmt.Errorf("bench: PyTorch anchor %s for %s: want a JSON line with step_s_median, got %q", script, c.Name, lastLine(out))
	}
	return &r, nil
}

// lastLine is the last non-empty line of b.
func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return bytes.TrimSpace(lines[len(lines)-1])
}
