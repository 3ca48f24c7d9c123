package train

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moslora/moslora/adapter"
)

// An output folder is held by one training at a time and never loses a finished run:
//
//   - OpenOut takes the folder's lock file (LockFile, holding the process id; a lock left by a
//     process that no longer runs is taken over with a message), removes temporary folders that a
//     killed run left behind, and refuses a folder that holds an earlier run unless the run
//     resumes it (--resume) or replaces it (--force: the earlier run's checkpoints and metrics
//     are removed at the start, its outputs when this run commits its own).
//   - Commit builds the finished outputs in a temporary folder inside the output folder, then
//     moves them into place: the earlier outputs first go, the files are renamed in, and the files
//     that make the folder look complete (adapter_config.json or config.json, then
//     train_config.json) come last. A failure while building leaves the folder as it was.

// LockFile is the name of the lock file in a training output folder.
const LockFile = ".moslora.lock"

// Temporary folder prefixes inside an output folder (removed by OpenOut when stale).
const (
	tmpCheckpointPrefix = ".tmp-checkpoint-"
	tmpFinalPrefix      = ".tmp-final-"
)

// outputFiles are the files a finished run leaves in its folder; their presence (or that of a
// checkpoint) means an earlier run used the folder.
var outputFiles = []string{adapter.ConfigFile, adapter.WeightsFile, "config.json", "model.safetensors",
	"train_config.json", "eval.json", MetricsFile}

// markerFiles are moved in last by Commit, in this order: the file a loader opens first
// (adapter_config.json or config.json), then the run's record.
var markerFiles = []string{adapter.ConfigFile, "config.json", "train_config.json"}

// OutDir is a training output folder held by this process.
type OutDir struct {
	Path    string
	lock    string
	created bool // OpenOut created the folder (Close removes it again when it stayed empty)
}

// OpenOut prepares dir for a run (see the comment above); messages go to w.
func OpenOut(dir string, resume, force bool, w io.Writer) (*OutDir, error) {
	if dir == "" {
		return nil, errors.New("train: --out is required")
	}
	st, err := os.Stat(dir)
	created := false
	switch {
	case err == nil && !st.IsDir():
		return nil, fmt.Errorf("train: --out %s is a file; expected a folder (new or from an earlier run)", dir)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("train: creating --out %s: %w", dir, err)
		}
		created = true
	case err != nil:
		return nil, fmt.Errorf("train: --out: %w", err)
	}
	o := &OutDir{Path: dir, created: created}
	if o.lock, err = acquireLock(dir, w); err != nil {
		o.removeIfCreated()
		return nil, err
	}
	if n := removeStaleTemps(dir); n > 0 {
		fmt.Fprintf(w, "removed %d temporary folder(s) left in %s by an interrupted run\n", n, dir)
	}
	earlier := earlierRun(dir)
	finished := fileExists(filepath.Join(dir, adapter.ConfigFile)) || fileExists(filepath.Join(dir, "config.json"))
	switch {
	case len(earlier) == 0:
	case resume && LatestCheckpoint(dir) == "" && finished && !force:
		o.Close()
		return nil, fmt.Errorf("train: --resume: %s holds a finished run (%s) and no checkpoint to resume from; use --force to train again over it, or another --out", dir, strings.Join(earlier, ", "))
	case resume:
	case force:
		for _, name := range earlier {
			if name == MetricsFile || strings.HasPrefix(name, checkpointPrefix) {
				if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
					o.Close()
					return nil, fmt.Errorf("train: --force: %w", err)
				}
			}
		}
		fmt.Fprintf(w, "--force: starting over in %s (the earlier run's checkpoints and %s are removed; its outputs are replaced when this run finishes)\n", dir, MetricsFile)
	default:
		o.Close()
		return nil, fmt.Errorf("train: --out %s already holds an earlier run (%s); use --resume to continue it, --force to replace it, or another --out", dir, strings.Join(earlier, ", "))
	}
	return o, nil
}

// Close releases the lock (and removes the folder when OpenOut created it and it is still empty).
func (o *OutDir) Close() {
	if o == nil {
		return
	}
	releaseLock(o.lock)
	o.removeIfCreated()
}

func (o *OutDir) removeIfCreated() {
	if o.created {
		os.Remove(o.Path) // only succeeds on an empty folder
	}
}

// Commit writes the finished outputs: fill writes them into a temporary folder inside the output
// folder; they then replace the earlier outputs (see the comment at the top of this file). On a
// fill error nothing in the output folder changes.
func (o *OutDir) Commit(fill func(tmp string) error) error {
	tmp, err := os.MkdirTemp(o.Path, tmpFinalPrefix)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer os.RemoveAll(tmp) // empty after a successful commit
	if err := fill(tmp); err != nil {
		return err
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	isMarker := map[string]bool{}
	for _, m := range markerFiles {
		isMarker[m] = true
	}
	// 1. The earlier run's outputs go, markers first, so the folder never looks complete with a
	//    mix of two runs' files.
	for _, name := range append(append([]string(nil), markerFiles...), outputFiles...) {
		if name == MetricsFile { // this run's own log
			continue
		}
		if err := os.Remove(filepath.Join(o.Path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("train: replacing the earlier outputs: %w", err)
		}
	}
	// 2. This run's files, markers last.
	var names []string
	for _, e := range ents {
		if !isMarker[e.Name()] {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, m := range markerFiles {
		if fileExists(filepath.Join(tmp, m)) {
			names = append(names, m)
		}
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(o.Path, name)); err != nil {
			return fmt.Errorf("train: moving %s into %s: %w", name, o.Path, err)
		}
	}
	return nil
}

// earlierRun lists what an earlier run left in dir: output files and checkpoint folders.
func earlierRun(dir string) []string {
	var found []string
	for _, name := range outputFiles {
		if fileExists(filepath.Join(dir, name)) {
			found = append(found, name)
		}
	}
	steps, _ := listCheckpoints(dir)
	for _, s := range steps {
		found = append(found, fmt.Sprintf("%s%d", checkpointPrefix, s))
	}
	return found
}

// removeStaleTemps removes the temporary folders of interrupted checkpoint writes and commits
// (the caller holds the lock, so none belongs to a live run) and returns how many it removed.
func removeStaleTemps(dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() && (strings.HasPrefix(e.Name(), tmpCheckpointPrefix) || strings.HasPrefix(e.Name(), tmpFinalPrefix)) {
			if os.RemoveAll(filepath.Join(dir, e.Name())) == nil {
				n++
			}
		}
	}
	return n
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// acquireLock creates dir/LockFile holding this process's id. An existing lock whose process
// still runs is an error naming it; one whose process is gone is taken over with a message.
func acquireLock(dir string, w io.Writer) (string, error) {
	path := filepath.Join(dir, LockFile)
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := fmt.Fprintf(f, "%d\n", os.Getpid())
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return "", fmt.Errorf("train: writing the lock file %s: %w", path, werr)
			}
			return path, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("train: creating the lock file %s: %w", path, err)
		}
		pid, ok := lockHolder(path)
		if ok && processRunning(pid) {
			return "", fmt.Errorf("train: %s is in use by another training (process %d holds %s); wait for it to finish or stop it, or choose another --out", dir, pid, path)
		}
		if attempt > 0 {
			return "", fmt.Errorf("train: could not take over the lock file %s", path)
		}
		if ok {
			fmt.Fprintf(w, "taking over the lock %s of process %d, which is no longer running\n", path, pid)
		} else {
			fmt.Fprintf(w, "taking over the unreadable lock file %s\n", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("train: removing the stale lock %s: %w", path, err)
		}
	}
}

// lockHolder reads the process id in a lock file. A lock being written this instant may still
// be empty, so an unreadable one is read again after a moment before it is called stale.
func lockHolder(path string) (int, bool) {
	for try := 0; try < 2; try++ {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			return pid, true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, false
}

// releaseLock removes the lock file when it still holds this process's id.
func releaseLock(path string) {
	if path == "" {
		return
	}
	if pid, ok := lockHolder(path); ok && pid == os.Getpid() {
		os.Remove(path)
	}
}
