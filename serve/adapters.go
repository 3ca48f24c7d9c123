package serve

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/model"
)

// served is one adapter the server can run: its name (the request's "model"), its folder and the
// adapter, loaded detached and held as data (its updates per base layer: model.Deltas).
type served struct {
	name, dir string
	method    string // the adapter's mixer, for /v1/models
	a         *adapter.Adapter
}

// DeltaFor implements model.Deltas.
func (s *served) DeltaFor(l *model.Linear) model.Delta { return s.a.DeltaFor(l) }

// registry holds the served adapters by name; safe for concurrent use.
type registry struct {
	root  string // the adapters directory as given
	real  string // its real path (symlinks resolved); "" when no directory was given
	base  *model.Model
	mu    sync.RWMutex
	byKey map[string]*served
}

func newRegistry(root string, base *model.Model) (*registry, error) {
	r := &registry{root: root, base: base, byKey: map[string]*served{}}
	if root == "" {
		return r, nil
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("--adapters %s: %v", root, err)
	}
	if r.real, err = filepath.Abs(real); err != nil {
		return nil, fmt.Errorf("--adapters %s: %v", root, err)
	}
	return r, nil
}

// loadAll loads every subfolder of the adapters directory that holds an adapter_config.json,
// named by the folder.
func (r *registry) loadAll() ([]string, error) {
	if r.root == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(r.root)
	if err != nil {
		return nil, fmt.Errorf("--adapters: %v", err)
	}
	var names []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(r.root, e.Name(), adapter.ConfigFile)); err != nil {
			continue
		}
		if err := r.load(e.Name(), e.Name()); err != nil {
			return nil, err
		}
		names = append(names, e.Name())
	}
	return names, nil
}

// errConflict and errNotFound classify load/unload failures for the status code.
var (
	errConflict = errors.New("conflict")
	errNotFound = errors.New("not found")
)

// confine resolves rel, a path inside the adapters directory, to its real path, refusing an
// absolute path, a ".." component and a real path (symlinks resolved) outside the directory.
func (r *registry) confine(rel string) (string, error) {
	if r.real == "" {
		return "", fmt.Errorf("the server was started without --adapters; there is no folder to load adapters from")
	}
	if rel == "" {
		return "", fmt.Errorf("lora_path is empty")
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`) || filepath.VolumeName(rel) != "" {
		return "", fmt.Errorf("lora_path %q is absolute; give a folder inside the adapters directory", rel)
	}
	for _, part := range strings.FieldsFunc(rel, func(c rune) bool { return c == '/' || c == '\\' }) {
		if part == ".." {
			return "", fmt.Errorf("lora_path %q contains \"..\"; give a folder inside the adapters directory", rel)
		}
	}
	real, err := filepath.EvalSymlinks(filepath.Join(r.real, rel))
	if err != nil {
		return "", fmt.Errorf("lora_path %q: no such folder in the adapters directory", rel)
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", err
	}
	if within, err := filepath.Rel(r.real, real); err != nil || within == ".." || strings.HasPrefix(within, ".."+string(filepath.Separator)) || filepath.IsAbs(within) {
		return "", fmt.Errorf("lora_path %q resolves outside the adapters directory (a symlink?); refused", rel)
	}
	return real, nil
}

// load reads the adapter in rel (inside the adapters directory) and serves it as name.
func (r *registry) load(name, rel string) error {
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return fmt.Errorf("lora_name %q: expected a non-empty name without slashes", name)
	}
	dir, err := r.confine(rel)
	if err != nil {
		return err
	}
	r.mu.RLock()
	_, dup := r.byKey[name]
	r.mu.RUnlock()
	if dup {
		return fmt.Errorf("%w: an adapter named %q is already loaded", errConflict, name)
	}
	s, err := loadDetached(dir, r.base)
	if err != nil {
		return err
	}
	s.name = name
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byKey[name]; dup {
		return fmt.Errorf("%w: an adapter named %q is already loaded", errConflict, name)
	}
	r.byKey[name] = s
	return nil
}

// unload stops serving name (running sequences keep their adapter until they finish).
func (r *registry) unload(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byKey[name]; !ok {
		return fmt.Errorf("%w: no adapter named %q is loaded", errNotFound, name)
	}
	delete(r.byKey, name)
	return nil
}

func (r *registry) get(name string) *served {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byKey[name]
}

// list returns the served adapters sorted by name.
func (r *registry) list() []*served {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*served, 0, len(r.byKey))
	for _, s := range r.byKey {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// loadDetached loads the adapter folder dir for base without attaching it (adapter.LoadDetached:
// the model, which running steps read, is never written); the adapter is then served as data.
func loadDetached(dir string, base *model.Model) (*served, error) {
	a, err := adapter.LoadDetached(dir, base)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is not an adapter folder (%s and %s): %v", dir, adapter.ConfigFile, adapter.WeightsFile, err)
		}
		return nil, err
	}
	a.SetTraining(false)
	return &served{dir: dir, method: a.Config.MixerKind(), a: a}, nil
}
