package safetensors

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// shardPattern matches the shard names WriteSharded (and transformers) writes.
var shardPattern = regexp.MustCompile(`^model-[0-9]{5}-of-[0-9]{5}\.safetensors$`)

// ShardName is the file name of shard i (from 1) of n, as transformers names it:
// model-00001-of-00003.safetensors.
func ShardName(i, n int) string { return fmt.Sprintf("model-%05d-of-%05d.safetensors", i, n) }

// WriteSharded writes the tensors of a model into dir the way transformers' save_pretrained does:
// a single model.safetensors when their data fits in maxShardBytes, otherwise shards
// model-0000i-of-0000n.safetensors filled greedily in the order given (a tensor larger than
// maxShardBytes gets a shard of its own) plus model.safetensors.index.json with
// {"metadata": {"total_size": bytes}, "weight_map": {tensor: shard}}. metadata (may be nil) goes
// into every file's header. Each file is written atomically; afterwards, stale weight files of the
// other layout (model.safetensors, the index, model-*-of-*.safetensors not written now) are removed
// so that OpenDir reads what was just written.
func WriteSharded(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) error {
	if maxShardBytes <= 0 {
		return fmt.Errorf("safetensors: %s: maximum shard size %d must be positive", dir, maxShardBytes)
	}
	if err := checkAll(tensors, metadata); err != nil {
		return fmt.Errorf("safetensors: %s: %v", dir, err)
	}
	var total int64
	for i := range tensors {
		total += int64(len(tensors[i].Data))
	}
	if total <= maxShardBytes {
		if err := WriteFile(filepath.Join(dir, SingleFileName), tensors, metadata); err != nil {
			return err
		}
		return removeStale(dir, nil)
	}
	// Greedy split, as huggingface_hub.split_state_dict_into_shards_factory does.
	var shards [][]Tensor
	var cur []Tensor
	var curSize int64
	for _, t := range tensors {
		size := int64(len(t.Data))
		if size > maxShardBytes {
			shards = append(shards, []Tensor{t})
			continue
		}
		if curSize+size > maxShardBytes {
			shards = append(shards, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, t)
		curSize += size
	}
	if len(cur) > 0 {
		shards = append(shards, cur)
	}
	type index struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	idx := index{Metadata: map[string]int64{"total_size": total}, WeightMap: map[string]string{}}
	keep := map[string]bool{}
	for i, shard := range shards {
		name := ShardName(i+1, len(shards))
		keep[name] = true
		if err := WriteFile(filepath.Join(dir, name), shard, metadata); err != nil {
			return err
		}
		for _, t := range shard {
			idx.WeightMap[t.Name] = name
		}
	}
	js, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("safetensors: %v", err)
	}
	js = append(js, '\n')
	if err := writeAtomic(filepath.Join(dir, IndexFileName), func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	}); err != nil {
		return err
	}
	return removeStale(dir, keep)
}

// removeStale deletes weight files of dir not in keep: model.safetensors when sharded (keep !=
// nil), the index when not, and shards not written now.
func removeStale(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		stale := shardPattern.MatchString(name) && !keep[name]
		if keep == nil && name == IndexFileName || keep != nil && name == SingleFileName {
			stale = true
		}
		if stale && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("safetensors: removing stale weights: %w", err)
			}
		}
	}
	return nil
}
