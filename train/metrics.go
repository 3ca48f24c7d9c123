package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/moslora/moslora/internal/atomicfile"
)

// MetricsFile is the name of the per-step log in the output folder.
const MetricsFile = "metrics.jsonl"

// Metric is one line of metrics.jsonl, written after each optimizer update.
type Metric struct {
	Step       int     `json:"step"`         // 1-based number of optimizer updates done
	Epoch      float64 `json:"epoch"`        // fractional epoch reached
	Loss       float64 `json:"loss"`         // mean training loss of the update (over its micro-batches)
	LR         float64 `json:"lr"`           // learning rate used by the update
	GradNorm   float64 `json:"grad_norm"`    // global L2 norm of the gradient before clipping
	TokensPerS float64 `json:"tokens_per_s"` // input tokens per second over this update
	Tokens     int64   `json:"tokens"`       // input tokens seen so far
	ElapsedS   float64 `json:"elapsed_s"`    // training seconds so far (resumed runs include earlier ones)

	// Gated mixers only (see gates): the update's gate entropy and per-subspace usage.
	GateEntropy      *float64             `json:"gate_entropy,omitempty"`
	GateUsage        []float64            `json:"gate_usage,omitempty"`
	GateUsageModules map[string][]float64 `json:"gate_usage_modules,omitempty"`
}

// appendMetric appends one JSON line with a single write(2) on an O_APPEND file, so a crash never
// leaves half a line behind another process's view of a whole one.
func appendMetric(path string, m Metric) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	return f.Close()
}

// truncateMetrics keeps the lines of metrics.jsonl with step ≤ step (a resumed run replays the
// later ones), rewriting the file atomically. A missing file is fine.
func truncateMetrics(path string, step int) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var keep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil { // a torn last line from a crash
			continue
		}
		if m.Step <= step {
			keep.Write(sc.Bytes())
			keep.WriteByte('\n')
		}
	}
	return writeFileAtomic(path, keep.Bytes())
}

// writeFileAtomic writes data to path through a temporary file in the same folder, fsync and a
// rename (see internal/atomicfile).
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	return nil
}
