package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Resolve turns a --model value into a model folder. A path that exists wins and is returned as
// given; a value that is not a hub name (see ParseName) is returned as given too, so the caller
// reports a missing folder as before. A hub name is looked up in the cache first: when refs and
// the snapshot already hold a loadable model (see missing) its snapshot folder is returned
// without any request. Otherwise the revision is downloaded into the cache (Download), or, when
// opt.Offline, the error names what the cache lacks.
func Resolve(ctx context.Context, spec string, opt Options) (string, error) {
	if _, err := os.Stat(spec); err == nil {
		return spec, nil
	}
	name, err := ParseName(spec)
	if err != nil {
		return spec, nil
	}
	rc := newRepoCache(opt.CacheDir, name.Repo)
	commit, ok, err := rc.commit(name.Revision)
	if err != nil {
		return "", err
	}
	if ok && rc.missing(commit) == nil {
		return rc.snapshot(commit), nil
	}
	s, err := Download(ctx, name, opt)
	if err != nil {
		if errors.Is(err, ErrNotFound) && name.Revision == DefaultRevision && !strings.Contains(spec, "@") {
			return "", fmt.Errorf("%s is neither a folder here nor a model on the hub: %w", spec, err)
		}
		return "", err
	}
	return s.Dir, nil
}

// Snapshot is a revision of a model in the cache, as Download leaves it.
type Snapshot struct {
	Repo       string   `json:"repo"`
	Revision   string   `json:"revision"`
	Commit     string   `json:"commit"`
	Dir        string   `json:"dir"`        // cache/models--org--name/snapshots/<commit>
	Files      []string `json:"files"`      // the model's files in the snapshot
	Downloaded int64    `json:"downloaded"` // bytes transferred by this call
}

// downloader fills one repository's snapshot.
type downloader struct {
	name     Name
	cache    repoCache
	client   *client
	progress progress
	snap     *Snapshot
}

// Download makes the cache hold the files a model needs at name's revision: it asks the hub which
// commit the revision is now (writing refs/<revision>) and which files it has, records the
// model files it lacks in .no_exist, and fetches every chosen file the snapshot does not hold
// yet — the safetensors index first, then the shards it names. Files already in the snapshot
// cost no request; blobs already in blobs/ are linked without a transfer. With opt.Offline it
// makes no request and fails, naming what is missing, unless the cache already holds the model.
func Download(ctx context.Context, name Name, opt Options) (*Snapshot, error) {
	rc := newRepoCache(opt.CacheDir, name.Repo)
	if opt.Offline {
		return offline(name, rc)
	}
	d := &downloader{
		name:     name,
		cache:    rc,
		client:   &client{opt: opt, http: opt.httpClient()},
		progress: newProgress(opt.Progress),
	}
	info, err := d.client.revision(ctx, name)
	if err != nil {
		return nil, err
	}
	commit := info.SHA
	d.snap = &Snapshot{Repo: name.Repo, Revision: name.Revision, Commit: commit, Dir: rc.snapshot(commit)}
	siblings := make([]string, len(info.Siblings))
	have := map[string]bool{}
	for i, s := range info.Siblings {
		siblings[i] = s.RFilename
		have[s.RFilename] = true
	}
	files, absent, err := pickFiles(name.Repo, siblings)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.snap.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	if err := rc.writeRef(name.Revision, commit); err != nil {
		return nil, err
	}
	for _, f := range absent {
		if err := rc.markAbsent(commit, f); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := d.ensure(ctx, commit, f); err != nil {
			return nil, err
		}
	}
	if have[indexWeights] {
		shards, err := shardsOf(rc.entry(commit, indexWeights))
		if err != nil {
			return nil, err
		}
		for _, s := range shards {
			if !have[s] {
				return nil, fmt.Errorf("hub: %s@%s: %s names %s, which the revision does not have", name.Repo, commit, indexWeights, s)
			}
			if err := d.ensure(ctx, commit, s); err != nil {
				return nil, err
			}
		}
	}
	if miss := rc.missing(commit); miss != nil {
		return nil, fmt.Errorf("hub: %s: the snapshot %s still lacks %s after downloading", name, d.snap.Dir, strings.Join(miss, ", "))
	}
	return d.snap, nil
}

// ensure places file in the snapshot of commit: nothing to do when the entry exists; a link when
// its blob exists; otherwise a download into blobs/ first.
func (d *downloader) ensure(ctx context.Context, commit, file string) error {
	d.snap.Files = append(d.snap.Files, file)
	if d.cache.has(commit, file) {
		return nil
	}
	m, err := d.client.head(ctx, d.name, commit, file)
	if err != nil {
		return err
	}
	if m.Commit != "" && m.Commit != commit {
		return fmt.Errorf("hub: %s: asked for %s at commit %s, the hub answered for commit %s", d.name.Repo, file, commit, m.Commit)
	}
	n, err := d.fetchBlob(ctx, m, file)
	d.snap.Downloaded += n
	if err != nil {
		return err
	}
	return d.cache.link(commit, file, m.ETag)
}

// offline answers Download under HF_HUB_OFFLINE from the cache alone.
func offline(name Name, rc repoCache) (*Snapshot, error) {
	commit, ok, err := rc.commit(name.Revision)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(ErrOffline, "hub: HF_HUB_OFFLINE is set and %s was never downloaded into %s (no %s)",
			name, rc.root, rc.refPath(name.Revision))
	}
	if miss := rc.missing(commit); miss != nil {
		return nil, errorf(ErrOffline, "hub: HF_HUB_OFFLINE is set and the cached snapshot %s of %s lacks %s",
			rc.snapshot(commit), name, strings.Join(miss, ", "))
	}
	s := &Snapshot{Repo: name.Repo, Revision: name.Revision, Commit: commit, Dir: rc.snapshot(commit)}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			s.Files = append(s.Files, e.Name())
		}
	}
	return s, nil
}
