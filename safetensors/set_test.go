package safetensors

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestWriteShardedThenOpenDirRoundTrips(t *testing.T) {
	tensors := randomTensors(rand.New(rand.NewPCG(7, 8)))
	var total int64
	var largest int
	for _, ts := range tensors {
		total += int64(len(ts.Data))
		largest = max(largest, len(ts.Data))
	}
	dir := t.TempDir()
	meta := map[string]string{"format": "pt"}

	// Small shards: several files plus an index.
	if err := WriteSharded(dir, tensors, meta, 100); err != nil {
		t.Fatal(err)
	}
	files := listDir(t, dir)
	if files[len(files)-1] != IndexFileName || len(files) < 3 {
		t.Fatalf("sharded folder holds %v", files)
	}
	n := len(files) - 1
	for i, name := range files[:n] {
		if name != ShardName(i+1, n) {
			t.Errorf("shard %d is named %s, want %s", i, name, ShardName(i+1, n))
		}
		f, err := Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var data int64
		for _, tn := range f.Names() {
			data += f.Info(tn).End - f.Info(tn).Begin
		}
		f.Close()
		if data > 100 && len(f.Names()) > 1 {
			t.Errorf("%s holds %d bytes of data in %d tensors, over the 100-byte limit", name, data, len(f.Names()))
		}
	}
	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	js, _ := os.ReadFile(filepath.Join(dir, IndexFileName))
	if err := json.Unmarshal(js, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Metadata["total_size"] != total || len(idx.WeightMap) != len(tensors) {
		t.Errorf("index total_size %d (want %d), %d entries (want %d)", idx.Metadata["total_size"], total, len(idx.WeightMap), len(tensors))
	}
	set, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Files) != n {
		t.Errorf("OpenDir opened %d shards, wrote %d", len(set.Files), n)
	}
	checkSame(t, set, tensors)
	if _, _, err := set.Raw("nope"); err == nil || !strings.Contains(err.Error(), `missing tensor "nope"`) || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing tensor in a set gave %v", err)
	}
	set.Close()

	// Everything fits: one model.safetensors, and the stale index and shards are gone.
	if err := WriteSharded(dir, tensors, meta, total); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !reflect.DeepEqual(got, []string{SingleFileName}) {
		t.Errorf("after an unsharded write the folder holds %v", got)
	}
	set, err = OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, set, tensors)
	set.Close()

	// Sharded again: the single file is removed.
	if err := WriteSharded(dir, tensors, meta, int64(largest)); err != nil {
		t.Fatal(err)
	}
	for _, name := range listDir(t, dir) {
		if name == SingleFileName {
			t.Error("a sharded write left model.safetensors behind")
		}
	}
	set, err = OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, set, tensors)
	set.Close()
}

// writeIndex writes a model.safetensors.index.json with the given weight map.
func writeIndex(t *testing.T, dir string, weightMap map[string]string) {
	t.Helper()
	js, _ := json.Marshal(map[string]any{"metadata": map[string]int{"total_size": 0}, "weight_map": weightMap})
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDirRejectsInconsistentIndexes(t *testing.T) {
	a := FromFloat32("a", []int{1}, []float32{1})
	b := FromFloat32("b", []int{1}, []float32{2})
	s1, s2 := ShardName(1, 2), ShardName(2, 2)
	cases := []struct {
		name   string
		shards map[string][]Tensor
		index  map[string]string
		raw    string // index text instead of index
		want   string
	}{
		{"missing shard", map[string][]Tensor{s1: {a}}, map[string]string{"a": s1, "b": s2}, "", "names shard " + s2},
		{"missing tensor", map[string][]Tensor{s1: {a}, s2: {b}}, map[string]string{"a": s1, "b": s2, "c": s2}, "", `weight_map puts missing tensor "c" in shard ` + s2},
		{"tensor in the wrong shard", map[string][]Tensor{s1: {a}, s2: {b}}, map[string]string{"a": s2, "b": s2}, "", `missing tensor "a" in shard ` + s2},
		{"tensor in two shards", map[string][]Tensor{s1: {a, b}, s2: {b}}, map[string]string{"a": s1, "b": s2}, "", `tensor "b" is in two shards, ` + s1 + " and " + s2},
		{"unlisted tensor", map[string][]Tensor{s1: {a, b}}, map[string]string{"a": s1}, "", `shard ` + s1 + ` holds tensor "b", which the weight_map does not list`},
		{"shard outside the folder", nil, map[string]string{"a": "../x.safetensors"}, "", `weight_map["a"] = "../x.safetensors" is not a file name in the model folder`},
		{"absolute shard path", nil, map[string]string{"a": "/etc/passwd"}, "", "is not a file name in the model folder"},
		{"not JSON", nil, nil, `{"weight_map": `, "not valid JSON"},
		{"no weight_map", nil, nil, `{"metadata": {}}`, `no "weight_map"`},
		{"empty weight_map", nil, nil, `{"weight_map": {}}`, `"weight_map" is empty`},
		{"weight_map not strings", nil, nil, `{"weight_map": {"a": 1}}`, `weight_map["a"] must be a shard file name`},
		{"duplicate weight_map key", nil, nil, `{"weight_map": {"a": "x", "a": "y"}}`, `duplicate key "a"`},
	}
	for _, c := range cases {
		dir := t.TempDir()
		for name, ts := range c.shards {
			if err := WriteFile(filepath.Join(dir, name), ts, nil); err != nil {
				t.Fatal(err)
			}
		}
		if c.raw != "" {
			os.WriteFile(filepath.Join(dir, IndexFileName), []byte(c.raw), 0o644)
		} else {
			writeIndex(t, dir, c.index)
		}
		set, err := OpenDir(dir)
		if err == nil {
			set.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), IndexFileName) {
			t.Errorf("%s: got %v\nwant an error naming %s and %q", c.name, err, IndexFileName, c.want)
		}
	}
}

func TestOpenDirWithoutWeightsIsAnError(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "no model.safetensors or model.safetensors.index.json") {
		t.Errorf("empty folder gave %v", err)
	}
	if _, err := OpenDir(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("missing folder gave %v", err)
	}
	os.WriteFile(filepath.Join(dir, SingleFileName), []byte("garbage"), 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "truncated file") {
		t.Errorf("broken model.safetensors gave %v", err)
	}
	if err := WriteSharded(dir, nil, nil, 0); err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Errorf("zero shard size gave %v", err)
	}
}
