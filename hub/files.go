package hub

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// modelFiles are the small files a model folder may carry that moslora reads: the configs and
// the tokenizer with its chat template. Each is fetched when the revision has it.
var modelFiles = []string{
	"config.json",
	"generation_config.json",
	"tokenizer.json",
	"tokenizer_config.json",
	"special_tokens_map.json",
	"chat_template.jinja",
}

const (
	singleWeights = "model.safetensors"
	indexWeights  = "model.safetensors.index.json"
)

// pickFiles chooses, from the files of a revision, those a model needs: the modelFiles present,
// then the weights — the sharded index when there is one (its shards are added once it is read),
// else model.safetensors, else every top-level *.safetensors. Other files (pytorch_model.bin,
// consolidated.safetensors beside an index, README, images) are left alone. absent lists the
// modelFiles the revision lacks.
func pickFiles(repo string, siblings []string) (files, absent []string, err error) {
	have := map[string]bool{}
	for _, s := range siblings {
		have[s] = true
	}
	for _, f := range modelFiles {
		if have[f] {
			files = append(files, f)
		} else {
			absent = append(absent, f)
		}
	}
	switch {
	case have[indexWeights]:
		files = append(files, indexWeights)
	case have[singleWeights]:
		files = append(files, singleWeights)
	default:
		var st []string
		for _, s := range siblings {
			if !strings.Contains(s, "/") && strings.HasSuffix(s, ".safetensors") {
				st = append(st, s)
			}
		}
		if len(st) == 0 {
			return nil, nil, fmt.Errorf("hub: %s has no safetensors weights (moslora reads model.safetensors or model.safetensors.index.json, not pytorch_model.bin or GGUF)", repo)
		}
		sort.Strings(st)
		files = append(files, st...)
	}
	if !have["config.json"] {
		return nil, nil, fmt.Errorf("hub: %s has no config.json: it is not a transformers model repository", repo)
	}
	return files, absent, nil
}

// shardsOf reads a model.safetensors.index.json and returns the distinct shard files its
// weight_map names, sorted. A name that would leave the snapshot folder is an error.
func shardsOf(indexPath string) ([]string, error) {
	b, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("hub: %s: %v", indexPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("hub: %s: weight_map is missing or empty", indexPath)
	}
	seen := map[string]bool{}
	var shards []string
	for key, f := range idx.WeightMap {
		if !filepath.IsLocal(filepath.FromSlash(f)) || path.Clean(f) != f {
			return nil, fmt.Errorf("hub: %s: weight_map[%q] = %q: expected a file name inside the model folder", indexPath, key, f)
		}
		if !seen[f] {
			seen[f] = true
			shards = append(shards, f)
		}
	}
	sort.Strings(shards)
	return shards, nil
}

// missing lists what the snapshot of commit lacks for moslora to load it: config.json,
// tokenizer.json (unless .no_exist records the revision has none) and the weights
// (model.safetensors, or the index and every shard it names, or some *.safetensors).
// Nil means the snapshot is usable without asking the hub anything.
func (c repoCache) missing(commit string) []string {
	if _, err := os.Stat(c.snapshot(commit)); err != nil {
		return []string{"snapshots/" + commit}
	}
	var miss []string
	for _, f := range []string{"config.json", "tokenizer.json"} {
		if !c.has(commit, f) && !c.knownAbsent(commit, f) {
			miss = append(miss, f)
		}
	}
	switch {
	case c.has(commit, indexWeights):
		shards, err := shardsOf(c.entry(commit, indexWeights))
		if err != nil {
			return append(miss, indexWeights+" (unreadable)")
		}
		for _, s := range shards {
			if !c.has(commit, s) {
				miss = append(miss, s)
			}
		}
	case c.has(commit, singleWeights):
	default:
		m, _ := filepath.Glob(filepath.Join(c.snapshot(commit), "*.safetensors"))
		if len(m) == 0 {
			miss = append(miss, singleWeights+" (or "+indexWeights+" and its shards)")
		}
	}
	return miss
}
