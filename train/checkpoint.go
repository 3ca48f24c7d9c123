package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/internal/setting"
	"github.com/moslora/moslora/kernels"
)

// Checkpoint folder layout (inside the output folder):
//
//	checkpoint-<step>/state.json             progress, the run's Config, a data digest, the base values
//	checkpoint-<step>/params.safetensors     every trainable tensor by name (float32)
//	checkpoint-<step>/optimizer.safetensors  "<name>.exp_avg", "<name>.exp_avg_sq" (float32)
//	checkpoint-<step>/adapter_config.json    (adapter runs) with adapter_model.safetensors: the
//	checkpoint-<step>/adapter_model.safetensors  adapter at that step, loadable like any adapter
//
// A checkpoint is written into a temporary folder and renamed into place, so a checkpoint-<step>
// folder is always complete. Older checkpoints beyond Job.Keep are then removed.
const (
	checkpointPrefix = "checkpoint-"
	stateFile        = "state.json"
	paramsFile       = "params.safetensors"
	optimFile        = "optimizer.safetensors"
)

// state is checkpoint-<step>/state.json. Data order is a pure function of (seed, epoch), so the
// position (Epoch, Batch) is the whole data-order state; adapter dropout is not used by the
// trainer (lora_dropout 0), so there is no other RNG state.
type state struct {
	Step     int     `json:"step"`        // optimizer updates done
	Total    int     `json:"total_steps"` // updates planned
	Epoch    int     `json:"epoch"`       // epoch of the next micro-batch
	Batch    int     `json:"batch"`       // index of the next micro-batch in that epoch
	Tokens   int64   `json:"tokens"`      // input tokens seen
	ElapsedS float64 `json:"elapsed_s"`   // training seconds so far
	Loss     float64 `json:"loss"`        // loss of the last update (the run's final loss once Step = Total)
	Config   Config  `json:"config"`
	Data     digest  `json:"data"`
	Base     string  `json:"base_dtype,omitempty"` // Job.Base: the frozen base's values
}

// digest identifies the tokenized training set.
type digest struct {
	Examples int    `json:"examples"`
	Hash     string `json:"fnv64a"`
}

// saveCheckpoint writes checkpoint-<step> atomically and prunes old ones, keeping keep (≥ 1);
// extra writes further files into the folder before it is renamed into place.
func saveCheckpoint(out string, st state, ps []*trainable, keep int, extra func(dir string) error) (string, error) {
	final := filepath.Join(out, fmt.Sprintf("%s%d", checkpointPrefix, st.Step))
	tmp, err := os.MkdirTemp(out, tmpCheckpointPrefix)
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	var params, moments []tensor
	for _, p := range ps {
		params = append(params, tensor{p.name, p.shape, p.w})
		moments = append(moments, tensor{p.name + ".exp_avg", p.shape, p.opt.M}, tensor{p.name + ".exp_avg_sq", p.shape, p.opt.V})
	}
	if err := writeTensors(filepath.Join(tmp, paramsFile), params, nil); err != nil {
		return "", err
	}
	if err := writeTensors(filepath.Join(tmp, optimFile), moments, nil); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(filepath.Join(tmp, stateFile), b); err != nil {
		return "", err
	}
	if extra != nil {
		if err := extra(tmp); err != nil {
			return "", err
		}
	}
	if err := os.RemoveAll(final); err != nil { // a stale one from an earlier run of this step
		return "", fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	steps, _ := listCheckpoints(out)
	for i := 0; i+keep < len(steps); i++ {
		os.RemoveAll(filepath.Join(out, fmt.Sprintf("%s%d", checkpointPrefix, steps[i])))
	}
	return final, nil
}

// listCheckpoints returns the steps of the checkpoint folders in out, ascending.
func listCheckpoints(out string) ([]int, error) {
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), checkpointPrefix) {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), checkpointPrefix)); err == nil {
			steps = append(steps, n)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// LatestCheckpoint returns the folder of the newest checkpoint in out, or "" when there is none.
func LatestCheckpoint(out string) string {
	steps, err := listCheckpoints(out)
	if err != nil || len(steps) == 0 {
		return ""
	}
	return filepath.Join(out, fmt.Sprintf("%s%d", checkpointPrefix, steps[len(steps)-1]))
}

// loadCheckpoint restores parameters and optimizer moments from dir and returns its state after
// checking that it was written by a run with the same Config, data and base values (Job.Base).
func loadCheckpoint(dir string, cfg Config, dg digest, base string, ps []*trainable) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, fmt.Errorf("train: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("train: %s: %v", filepath.Join(dir, stateFile), err)
	}
	if d := configDiff(st.Config, cfg); d != "" {
		return st, fmt.Errorf("train: %s was written with different settings (%s); resume needs the same ones", dir, d)
	}
	if st.Data != dg {
		return st, fmt.Errorf("train: %s was written for different training data (%d examples, hash %s; now %d, %s)", dir, st.Data.Examples, st.Data.Hash, dg.Examples, dg.Hash)
	}
	if st.Base != "" && base != "" && st.Base != base {
		return st, setting.Errorf("train", "base-dtype", base, ": %s was written by a run whose frozen base computed in %s; resume needs the same base (%s %s)",
			dir, st.Base, setting.Ref("base-dtype"), st.Base)
	}
	params := map[string][]float32{}
	moments := map[string][]float32{}
	for _, p := range ps {
		params[p.name] = p.w
		moments[p.name+".exp_avg"] = p.opt.M
		moments[p.name+".exp_avg_sq"] = p.opt.V
	}
	if err := readTensorsInto(filepath.Join(dir, paramsFile), params); err != nil {
		return st, err
	}
	if err := readTensorsInto(filepath.Join(dir, optimFile), moments); err != nil {
		return st, err
	}
	for _, p := range ps {
		p.opt.Step = updatesOf(p, st.Step, cfg)
	}
	return st, nil
}

// configDiff names the fields that differ between two configs ("" when equal).
func configDiff(a, b Config) string {
	var ma, mb map[string]any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if bytes.Equal(ja, jb) {
		return ""
	}
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	var diffs []string
	for k, va := range ma {
		x, _ := json.Marshal(va)
		y, _ := json.Marshal(mb[k])
		if !bytes.Equal(x, y) {
			diffs = append(diffs, fmt.Sprintf("%s: checkpoint %s, now %s", k, x, y))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// trainable is one optimized tensor with its AdamW state.
type trainable struct {
	name  string
	shape []int
	w, g  []float32      // parameter and gradient (aliases into the model or adapter)
	decay bool           // weight decay applies (matrices; not biases, norms or mixer logits)
	group string         // adapter.Param.Group (lora_A, lora_B, mixer); "" for full fine-tuning
	spans []adapter.Span // adapter.Param.Train: the entries that train (nil: all)
	opt   *kernels.AdamWState
}
