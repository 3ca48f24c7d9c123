package export

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// maxShardBytes is the shard size of a merged checkpoint whose base was sharded
// (transformers' default max_shard_size, 5 GB).
const maxShardBytes = 5_000_000_000

// Merged writes out, a Hugging Face model folder equal to the base folder baseDir with the
// adapter's update merged: for every adapted layer W' = W + s·B·M·A, computed in float32 from the
// checkpoint's values and rounded to the checkpoint's dtype. m is the model loaded from baseDir
// that a is attached to (merged or not; neither is modified). A gated adapter is an error; so is
// an existing out unless force.
func Merged(out, baseDir string, m *model.Model, a *adapter.Adapter, force bool) error {
	if err := checkDest(out, force); err != nil {
		return err
	}
	deltas, err := mergeDeltas(a)
	if err != nil {
		return err
	}
	set, err := safetensors.OpenDir(baseDir)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer set.Close()

	// Which checkpoint tensor each adapted layer updates, and how it is laid out.
	type update struct {
		l      *adapter.Linear
		dw     []float32 // (Out, In)
		conv1D bool      // the checkpoint holds (In, Out)
	}
	updates := map[string]update{}
	for i, l := range a.Linears {
		base := m.Linear(l.Path)
		if base == nil || base.In != l.In || base.Out != l.Out {
			return fmt.Errorf("export: adapter module %s (%d→%d) is not a linear layer of the model loaded from %s", l.Path, l.In, l.Out, baseDir)
		}
		key := checkpointKey(set, l.Path+".weight")
		if key == "" {
			return fmt.Errorf("export: %s: no checkpoint tensor for %s.weight", baseDir, l.Path)
		}
		want := []int{l.Out, l.In}
		if base.Conv1D {
			want = []int{l.In, l.Out}
		}
		if info := set.Info(key); !slices.Equal(info.Shape, want) {
			return fmt.Errorf("export: %s: tensor %q has shape %v, expected %v", baseDir, key, info.Shape, want)
		}
		updates[key] = update{l: l, dw: deltas[i], conv1D: base.Conv1D}
	}

	var tensors []safetensors.Tensor
	for _, name := range set.Names() {
		info := set.Info(name)
		u, ok := updates[name]
		if !ok {
			raw, _, err := set.Bytes(name)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			tensors = append(tensors, safetensors.Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: raw})
			continue
		}
		w, _, err := set.Float32(name)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		in, outDim := u.l.In, u.l.Out
		for o := 0; o < outDim; o++ {
			for i := 0; i < in; i++ {
				j := o*in + i // (Out, In)
				if u.conv1D {
					j = i*outDim + o // (In, Out)
				}
				w[j] += u.dw[o*in+i]
			}
		}
		switch info.DType {
		case safetensors.F32, safetensors.BF16, safetensors.F16, safetensors.F64:
		default:
			return fmt.Errorf("export: %s: tensor %q has dtype %s; merging needs F32, BF16, F16 or F64", baseDir, name, info.DType)
		}
		tensors = append(tensors, safetensors.FromFloat32As(name, info.Shape, w, info.DType))
	}
	meta := map[string]string{"format": "pt"}
	if len(set.Files) > 0 && set.Files[0].Metadata != nil {
		meta = set.Files[0].Metadata
	}
	sharded := len(set.Files) > 1
	return writeDir(out, force, func(tmp string) error {
		var err error
		if sharded {
			err = safetensors.WriteSharded(tmp, tensors, meta, maxShardBytes)
		} else {
			err = safetensors.WriteFile(filepath.Join(tmp, safetensors.SingleFileName), tensors, meta)
		}
		if err != nil {
			return fmt.Errorf("export: writing the merged weights: %w", err)
		}
		return copyModelFiles(baseDir, tmp)
	})
}

// mergeDeltas returns ΔW (Out, In) of every Linear of a, checking that each is mergeable and
// finite before anything is written.
func mergeDeltas(a *adapter.Adapter) ([][]float32, error) {
	out := make([][]float32, len(a.Linears))
	for i, l := range a.Linears {
		dw, ok := l.DeltaW()
		if !ok {
			return nil, errGated("merge", l.Path)
		}
		for j, v := range dw {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("export: cannot merge %s: ΔW[%d, %d] = %v is not finite", l.Path, j/l.In, j%l.In, v)
			}
		}
		out[i] = dw
	}
	return out, nil
}

// errGated explains why a gated adapter has no fixed ΔW.
func errGated(op, path string) error {
	return fmt.Errorf("export: cannot %s the gated adapter on %s: its mixer weighs the subspaces by "+
		"softmax(G·x + c) per token, so ΔW depends on the input and is not a fixed matrix; "+
		"use it unmerged (moslora generate --adapter or moslora eval --adapter) or keep the adapter folder as it is", op, path)
}

// checkpointKey finds the checkpoint name of a parameter: as given, or without the "transformer."
// prefix that the original GPT-2 hub files omit. "" if neither exists.
func checkpointKey(set *safetensors.Set, name string) string {
	for _, k := range []string{name, strings.TrimPrefix(name, "transformer.")} {
		if set.Info(k) != nil {
			return k
		}
	}
	return ""
}

// isWeightFile reports the files of a model folder that hold weights (not copied into a merged
// folder: the new weights replace them).
func isWeightFile(name string) bool {
	for _, suf := range []string{".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".msgpack"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return name == safetensors.IndexFileName || strings.HasSuffix(name, ".index.json")
}

// copyModelFiles copies the regular, non-hidden, non-weight files of src (config.json,
// generation_config.json, the tokenizer files, …) into dst. Symlinks are followed: a model in
// the Hugging Face cache is a snapshot folder of links to blobs.
func copyModelFiles(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || isWeightFile(name) {
			continue
		}
		if st, err := os.Stat(filepath.Join(src, name)); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			return fmt.Errorf("export: copying %s: %w", name, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
