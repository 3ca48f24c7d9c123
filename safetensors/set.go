package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Source is what a model loader reads tensors from: a single File or a sharded Set (or a fake in
// tests).
type Source interface {
	// Names lists the tensor names in sorted order.
	Names() []string
	// Info describes a tensor, or is nil if the source has none of that name.
	Info(name string) *Info
	// Raw returns a fresh copy of a tensor's little-endian bytes.
	Raw(name string) ([]byte, *Info, error)
	// Float32 reads a floating-point tensor converted to float32.
	Float32(name string) ([]float32, *Info, error)
	// Int64 reads an integer tensor widened to int64.
	Int64(name string) ([]int64, *Info, error)
	// Close releases the source.
	Close() error
}

var (
	_ Source = (*File)(nil)
	_ Source = (*Set)(nil)
)

// File names in a Hugging Face model folder.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// Set is the tensors of a model folder: model.safetensors, or the shards listed in
// model.safetensors.index.json. Every tensor is in exactly one shard. Its methods are safe for
// concurrent use, except Close.
type Set struct {
	Dir   string
	Files []*File // the shards, sorted by file name (one File for model.safetensors)
	owner map[string]*File
	names []string // sorted
}

// OpenDir opens the weights of a model folder. Like transformers it prefers model.safetensors and
// otherwise reads model.safetensors.index.json, whose weight_map must name, for every tensor, a
// shard file in dir that contains it; a tensor in two shards, or in a shard but absent from the
// weight_map, is an error.
func OpenDir(dir string) (*Set, error) {
	single := filepath.Join(dir, SingleFileName)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		return newSet(dir, []*File{f}, nil)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	indexPath := filepath.Join(dir, IndexFileName)
	data, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		if st, serr := os.Stat(dir); serr != nil {
			return nil, fmt.Errorf("safetensors: model folder: %w", serr)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("safetensors: %s is not a folder", dir)
		}
		return nil, fmt.Errorf("safetensors: %s: no %s or %s", dir, SingleFileName, IndexFileName)
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	weightMap, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %v", indexPath, err)
	}
	shardNames := make([]string, 0)
	seen := map[string]bool{}
	for _, tensor := range sortedKeys(weightMap) {
		shard := weightMap[tensor]
		if shard == "" || shard != filepath.Base(shard) || !filepath.IsLocal(shard) {
			return nil, fmt.Errorf("safetensors: %s: weight_map[%q] = %q is not a file name in the model folder", indexPath, tensor, shard)
		}
		if !seen[shard] {
			seen[shard] = true
			shardNames = append(shardNames, shard)
		}
	}
	sort.Strings(shardNames)
	files := make([]*File, 0, len(shardNames))
	for _, shard := range shardNames {
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("safetensors: %s names shard %s: %w", indexPath, shard, err)
		}
		files = append(files, f)
	}
	return newSet(dir, files, weightMap)
}

// newSet checks that every tensor is in exactly one shard and, for a sharded folder, that the
// weight map agrees with the shards. It closes files on error.
func newSet(dir string, files []*File, weightMap map[string]string) (*Set, error) {
	s := &Set{Dir: dir, Files: files, owner: map[string]*File{}}
	fail := func(format string, a ...any) (*Set, error) {
		closeAll(files)
		return nil, fmt.Errorf("safetensors: %s: "+format, append([]any{filepath.Join(dir, IndexFileName)}, a...)...)
	}
	byName := map[string]*File{}
	for _, f := range files {
		byName[filepath.Base(f.Path)] = f
	}
	for _, tensor := range sortedKeys(weightMap) {
		shard := weightMap[tensor]
		if byName[shard].Info(tensor) == nil {
			return fail("weight_map puts missing tensor %q in shard %s, which does not contain it", tensor, shard)
		}
	}
	for _, f := range files {
		for _, name := range f.Names() {
			if other := s.owner[name]; other != nil {
				return fail("tensor %q is in two shards, %s and %s", name, filepath.Base(other.Path), filepath.Base(f.Path))
			}
			if weightMap != nil {
				if _, listed := weightMap[name]; !listed {
					return fail("shard %s holds tensor %q, which the weight_map does not list", filepath.Base(f.Path), name)
				}
			}
			s.owner[name] = f
			s.names = append(s.names, name)
		}
	}
	sort.Strings(s.names)
	return s, nil
}

// parseIndex reads the weight_map of a model.safetensors.index.json.
func parseIndex(data []byte) (map[string]string, error) {
	if err := checkJSON(data); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	raw, ok := top["weight_map"]
	if !ok {
		return nil, errors.New(`no "weight_map"`)
	}
	var entries map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &entries) != nil {
		return nil, errors.New(`"weight_map" must be an object of tensor name → shard file name`)
	}
	if len(entries) == 0 {
		return nil, errors.New(`"weight_map" is empty`)
	}
	weightMap := make(map[string]string, len(entries))
	for k, v := range entries {
		s, ok := jsonString(v)
		if !ok {
			return nil, fmt.Errorf("weight_map[%q] must be a shard file name, not %.40s", k, v)
		}
		weightMap[k] = s
	}
	return weightMap, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func closeAll(files []*File) {
	for _, f := range files {
		f.Close()
	}
}

// Close closes every shard.
func (s *Set) Close() error {
	var first error
	for _, f := range s.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Names lists the tensor names of all shards in sorted order. The slice must not be modified.
func (s *Set) Names() []string { return s.names }

// Info returns the description of a tensor, or nil if absent. Its offsets are relative to the
// data section of its shard (see Shard).
func (s *Set) Info(name string) *Info {
	if f := s.owner[name]; f != nil {
		return f.Info(name)
	}
	return nil
}

// Shard returns the file holding a tensor, or nil if absent.
func (s *Set) Shard(name string) *File { return s.owner[name] }

func (s *Set) lookup(name string) (*File, error) {
	if f := s.owner[name]; f != nil {
		return f, nil
	}
	return nil, fmt.Errorf("safetensors: %s: missing tensor %q", s.Dir, name)
}

// Bytes is File.Bytes on the shard holding the tensor.
func (s *Set) Bytes(name string) ([]byte, *Info, error) {
	f, err := s.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Bytes(name)
}

// Raw is File.Raw on the shard holding the tensor.
func (s *Set) Raw(name string) ([]byte, *Info, error) {
	f, err := s.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Raw(name)
}

// Float32 is File.Float32 on the shard holding the tensor.
func (s *Set) Float32(name string) ([]float32, *Info, error) {
	f, err := s.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Float32(name)
}

// Int64 is File.Int64 on the shard holding the tensor.
func (s *Set) Int64(name string) ([]int64, *Info, error) {
	f, err := s.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Int64(name)
}
