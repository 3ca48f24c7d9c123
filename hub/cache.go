package hub

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/moslora/moslora/internal/atomicfile"
)

// repoCache is one repository's folder in the hub cache, laid out as huggingface_hub lays it out:
//
//	<root>/models--org--name/refs/<revision>           the commit a branch or tag pointed at (no newline)
//	<root>/models--org--name/snapshots/<commit>/<file>  relative symlink to ../../blobs/<etag>
//	<root>/models--org--name/blobs/<etag>               the file, named by its git sha-1 or LFS sha-256
//	<root>/models--org--name/blobs/<etag>.incomplete    a download in progress (resumed with Range)
//	<root>/models--org--name/.no_exist/<commit>/<file>  empty: the file does not exist at that commit
//	<root>/.locks/models--org--name/<etag>.lock         flock held while the blob is downloaded
type repoCache struct {
	root   string // the hub cache
	folder string // models--org--name
}

func newRepoCache(root, repo string) repoCache {
	return repoCache{root: root, folder: "models--" + strings.ReplaceAll(repo, "/", "--")}
}

func (c repoCache) dir() string { return filepath.Join(c.root, c.folder) }
func (c repoCache) refPath(rev string) string {
	return filepath.Join(c.dir(), "refs", filepath.FromSlash(rev))
}
func (c repoCache) snapshot(commit string) string { return filepath.Join(c.dir(), "snapshots", commit) }
func (c repoCache) blob(etag string) string       { return filepath.Join(c.dir(), "blobs", etag) }
func (c repoCache) lock(etag string) string {
	return filepath.Join(c.root, ".locks", c.folder, etag+".lock")
}
func (c repoCache) entry(commit, file string) string {
	return filepath.Join(c.snapshot(commit), filepath.FromSlash(file))
}
func (c repoCache) noExist(commit, file string) string {
	return filepath.Join(c.dir(), ".no_exist", commit, filepath.FromSlash(file))
}

// commit maps a revision to a commit without the network: a full commit hash is itself, a branch
// or tag is what refs/<revision> says. ok is false when the revision was never resolved here.
func (c repoCache) commit(rev string) (commit string, ok bool, err error) {
	if commitHash.MatchString(rev) {
		return rev, true, nil
	}
	b, err := os.ReadFile(c.refPath(rev))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("hub: reading %s: %w", c.refPath(rev), err)
	}
	commit = strings.TrimSpace(string(b))
	if !commitHash.MatchString(commit) {
		return "", false, fmt.Errorf("hub: %s holds %q, expected a 40-character commit hash", c.refPath(rev), commit)
	}
	return commit, true, nil
}

// writeRef records that rev points at commit. Like huggingface_hub it writes nothing when rev is
// the commit itself or the file already says so (a read-only shared cache stays usable).
func (c repoCache) writeRef(rev, commit string) error {
	if rev == commit {
		return nil
	}
	p := c.refPath(rev)
	if b, err := os.ReadFile(p); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := atomicfile.WriteFile(p, []byte(commit), 0o644); err != nil {
		return fmt.Errorf("hub: writing %s: %w", p, err)
	}
	return nil
}

// has reports whether the snapshot entry for file resolves to a readable file (a symlink whose
// blob was deleted does not count).
func (c repoCache) has(commit, file string) bool {
	st, err := os.Stat(c.entry(commit, file))
	return err == nil && st.Mode().IsRegular()
}

// knownAbsent reports whether .no_exist records that file does not exist at commit.
func (c repoCache) knownAbsent(commit, file string) bool {
	_, err := os.Stat(c.noExist(commit, file))
	return err == nil
}

// markAbsent records in .no_exist that file does not exist at commit, as huggingface_hub does
// when the hub answers 404 for it, so later look-ups need no request.
func (c repoCache) markAbsent(commit, file string) error {
	p := c.noExist(commit, file)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return f.Close()
}

// link places the snapshot entry for file as a relative symlink to blobs/<etag>
// (../../blobs/<etag> for a top-level file). The link is made under a temporary name and renamed
// into place, so a reader sees either no entry or a complete one. Where symlinks are refused
// (Windows without developer mode) the blob is copied instead, as huggingface_hub does.
func (c repoCache) link(commit, file, etag string) error {
	dst, blob := c.entry(commit, file), c.blob(etag)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	rel, err := filepath.Rel(filepath.Dir(dst), blob)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	// A name of its own, so that two processes placing the same entry do not rename each other's.
	tmp := filepath.Join(filepath.Dir(dst), fmt.Sprintf(".%s.%d-%d.link", filepath.Base(dst), os.Getpid(), rand.Uint64()))
	if err := os.Symlink(rel, tmp); err != nil {
		return copyInto(dst, blob)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hub: placing %s: %w", dst, err)
	}
	return nil
}

// copyInto writes a copy of src at dst atomically (the fallback where symlinks are refused).
func copyInto(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer in.Close()
	tmp := fmt.Sprintf("%s.%d-%d.copy", dst, os.Getpid(), rand.Uint64())
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if _, err = io.Copy(out, in); err == nil {
		err = out.Close()
	} else {
		out.Close()
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hub: copying %s to %s: %w", src, dst, err)
	}
	return nil
}
