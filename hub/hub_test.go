package hub_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/hub"
	"github.com/moslora/moslora/internal/hubtest"
)

const repoID = "acme/tiny-llama"

// tinyModel is a model repository's files: small JSON files stored in git and weights in LFS.
func tinyModel(seed uint64, weightBytes int) map[string][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	w := make([]byte, weightBytes)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	return map[string][]byte{
		"config.json":            []byte(`{"architectures": ["LlamaForCausalLM"], "seed": ` + string(rune('0'+seed%10)) + `}`),
		"generation_config.json": []byte(`{"eos_token_id": 2}`),
		"tokenizer.json":         []byte(`{"version": "1.0", "model": {"type": "BPE"}}`),
		"tokenizer_config.json":  []byte(`{"bos_token": "<s>"}`),
		"model.safetensors":      w,
		"pytorch_model.bin":      []byte("not needed"),
	}
}

func options(t *testing.T, fake *hubtest.Hub) hub.Options {
	return hub.Options{CacheDir: t.TempDir(), Endpoint: fake.URL}
}

// requestsSince returns the requests the fake hub served after the first n.
func requestsSince(fake *hubtest.Hub, n int) []string { return fake.Requests()[n:] }

func repoDir(opt hub.Options) string { return filepath.Join(opt.CacheDir, "models--acme--tiny-llama") }

// checkSnapshot checks, file by file, that the snapshot of commit holds files as relative
// symlinks to blobs named by their ETag (git sha-1, or sha-256 for LFS files) with the right bytes.
func checkSnapshot(t *testing.T, opt hub.Options, commit string, files map[string][]byte, want []string) {
	t.Helper()
	snap := filepath.Join(repoDir(opt), "snapshots", commit)
	for _, f := range want {
		entry := filepath.Join(snap, f)
		link, err := os.Readlink(entry)
		if err != nil {
			t.Errorf("%s: not a symlink: %v", f, err)
			continue
		}
		etag := hubtest.ETag(f, files[f])
		if wantLink := "../../blobs/" + etag; link != filepath.FromSlash(wantLink) {
			t.Errorf("%s -> %s, want %s", f, link, wantLink)
		}
		if hubtest.IsLFS(f) && len(etag) != 64 || !hubtest.IsLFS(f) && len(etag) != 40 {
			t.Errorf("%s: blob name %s is not a sha-256 (LFS) / git sha-1", f, etag)
		}
		b, err := os.ReadFile(filepath.Join(repoDir(opt), "blobs", etag))
		if err != nil || string(b) != string(files[f]) {
			t.Errorf("%s: blob %s holds %d bytes (err %v), want the file's %d bytes", f, etag, len(b), err, len(files[f]))
		}
	}
	entries, _ := os.ReadDir(snap)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("snapshot holds %v, want exactly %v", got, want)
	}
}

func readRef(t *testing.T, opt hub.Options, rev string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoDir(opt), "refs", filepath.FromSlash(rev)))
	if err != nil {
		t.Fatalf("refs/%s: %v", rev, err)
	}
	return string(b)
}

func TestDownloadIntoEmptyCacheLaysOutFilesAsHuggingfaceHubDoes(t *testing.T) {
	fake := hubtest.New(t)
	files := tinyModel(1, 5000)
	fake.AddRepo(repoID, files)
	opt := options(t, fake)

	s, err := hub.Download(context.Background(), hub.Name{Repo: repoID, Revision: "main"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := readRef(t, opt, "main"); got != s.Commit || len(got) != 40 {
		t.Errorf("refs/main = %q, want the commit %q with no newline", got, s.Commit)
	}
	if want := filepath.Join(repoDir(opt), "snapshots", s.Commit); s.Dir != want {
		t.Errorf("Dir = %s, want %s", s.Dir, want)
	}
	// Only what a model needs: not pytorch_model.bin, README.md or .gitattributes.
	checkSnapshot(t, opt, s.Commit, files, []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
	for _, f := range []string{"special_tokens_map.json", "chat_template.jinja"} {
		if _, err := os.Stat(filepath.Join(repoDir(opt), ".no_exist", s.Commit, f)); err != nil {
			t.Errorf(".no_exist/%s/%s not recorded: %v", s.Commit, f, err)
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(repoDir(opt), "blobs"))
	if len(blobs) != 5 {
		t.Errorf("blobs/ holds %d entries, want 5 (no .incomplete left)", len(blobs))
	}
	lfs := hubtest.SHA256(files["model.safetensors"])
	if _, err := os.Stat(filepath.Join(opt.CacheDir, ".locks", "models--acme--tiny-llama", lfs+".lock")); err != nil {
		t.Errorf("lock file of the LFS blob: %v", err)
	}
	if s.Downloaded != int64(5000+len(files["config.json"])+len(files["generation_config.json"])+len(files["tokenizer.json"])+len(files["tokenizer_config.json"])) {
		t.Errorf("Downloaded = %d bytes, want the five files' sizes", s.Downloaded)
	}
}

func TestShardedWeightsFetchIndexAndItsShardsOnly(t *testing.T) {
	fake := hubtest.New(t)
	files := tinyModel(2, 10)
	delete(files, "model.safetensors")
	files["model-00001-of-00002.safetensors"] = []byte("shard one bytes")
	files["model-00002-of-00002.safetensors"] = []byte("shard two bytes!")
	files["consolidated.safetensors"] = []byte("mistral's own format, not needed")
	files["model.safetensors.index.json"] = []byte(`{"metadata": {}, "weight_map": {
		"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}`)
	fake.AddRepo(repoID, files)
	opt := options(t, fake)
	s, err := hub.Download(context.Background(), hub.Name{Repo: repoID, Revision: "main"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, opt, s.Commit, files, []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
		"model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
}

func TestResolveReusesCompleteCacheWithoutAnyRequest(t *testing.T) {
	fake := hubtest.New(t)
	fake.AddRepo(repoID, tinyModel(3, 3000))
	opt := options(t, fake)
	ctx := context.Background()
	dir, err := hub.Resolve(ctx, repoID, opt)
	if err != nil {
		t.Fatal(err)
	}
	n := len(fake.Requests())
	if n == 0 {
		t.Fatal("the first Resolve made no request into an empty cache")
	}
	for _, spec := range []string{repoID, repoID + "@main"} {
		again, err := hub.Resolve(ctx, spec, opt)
		if err != nil || again != dir {
			t.Fatalf("Resolve(%s) again = %s, %v; want %s", spec, again, err, dir)
		}
	}
	if extra := requestsSince(fake, n); len(extra) != 0 {
		t.Errorf("resolving a complete cache made requests: %v", extra)
	}
	// Download always asks which commit main is now, but fetches nothing it has.
	s, err := hub.Download(ctx, hub.Name{Repo: repoID, Revision: "main"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if extra := requestsSince(fake, n); len(extra) != 1 || !strings.HasPrefix(extra[0], "GET /api/models/acme/tiny-llama/revision/main") || s.Downloaded != 0 {
		t.Errorf("Download over a complete cache made %v and moved %d bytes; want only the revision query", extra, s.Downloaded)
	}
}

// A cache laid out by Python's huggingface_hub (written here by hand, as it writes it) is used
// as it is: the endpoint is a server that fails the test on any request.
func TestResolveUsesCacheWrittenByPythonTools(t *testing.T) {
	cache := t.TempDir()
	commit := strings.Repeat("ab", 20)
	repo := filepath.Join(cache, "models--acme--tiny-llama")
	files := tinyModel(4, 100)
	for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
		etag := hubtest.ETag(f, files[f])
		must(t, os.MkdirAll(filepath.Join(repo, "blobs"), 0o755))
		must(t, os.WriteFile(filepath.Join(repo, "blobs", etag), files[f], 0o644))
		must(t, os.MkdirAll(filepath.Join(repo, "snapshots", commit), 0o755))
		must(t, os.Symlink("../../blobs/"+etag, filepath.Join(repo, "snapshots", commit, f)))
	}
	must(t, os.MkdirAll(filepath.Join(repo, "refs"), 0o755))
	must(t, os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644))
	opt := hub.Options{CacheDir: cache, Endpoint: "http://127.0.0.1:1"} // nothing listens there
	dir, err := hub.Resolve(context.Background(), repoID, opt)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err != nil || string(b) != string(files["config.json"]) {
		t.Errorf("resolved %s: config.json %q, %v", dir, b, err)
	}
}

func TestOfflineUsesTheCacheOnlyAndNamesWhatIsMissing(t *testing.T) {
	fake := hubtest.New(t)
	files := tinyModel(5, 2000)
	fake.AddRepo(repoID, files)
	opt := options(t, fake)
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_HUB_CACHE", opt.CacheDir)
	t.Setenv("HF_ENDPOINT", fake.URL)
	env, err := hub.EnvOptions()
	if err != nil || !env.Offline || env.CacheDir != opt.CacheDir {
		t.Fatalf("EnvOptions = %+v, %v; want Offline and the cache of HF_HUB_CACHE", env, err)
	}
	ctx := context.Background()

	_, err = hub.Resolve(ctx, repoID, env)
	if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), "refs/main") || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline, empty cache: %v; want ErrOffline naming refs/main", err)
	}
	// A download cut off in the weights leaves config and tokenizer but no model.safetensors.
	fake.CutNext("model.safetensors", 10)
	if _, err := hub.Download(ctx, hub.Name{Repo: repoID, Revision: "main"}, opt); err == nil {
		t.Fatal("the cut-off download succeeded")
	}
	_, err = hub.Resolve(ctx, repoID, env)
	if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), "model.safetensors") || strings.Contains(err.Error(), "config.json") {
		t.Errorf("offline, partial cache: %v; want ErrOffline naming model.safetensors only", err)
	}
	if _, err := hub.Download(ctx, hub.Name{Repo: repoID, Revision: "main"}, opt); err != nil {
		t.Fatal(err)
	}
	n := len(fake.Requests())
	dir, err := hub.Resolve(ctx, repoID, env)
	if err != nil {
		t.Fatalf("offline, complete cache: %v", err)
	}
	s, err := hub.Download(ctx, hub.Name{Repo: repoID, Revision: "main"}, env)
	if err != nil || s.Dir != dir || !slices.Contains(s.Files, "model.safetensors") {
		t.Fatalf("offline Download = %+v, %v", s, err)
	}
	if extra := requestsSince(fake, n); len(extra) != 0 {
		t.Errorf("offline mode made requests: %v", extra)
	}
}

func TestCutOffDownloadResumesWithRange(t *testing.T) {
	fake := hubtest.New(t)
	files := tinyModel(6, 50_000)
	fake.AddRepo(repoID, files)
	opt := options(t, fake)
	ctx := context.Background()
	name := hub.Name{Repo: repoID, Revision: "main"}
	sum := hubtest.SHA256(files["model.safetensors"])

	fake.CutNext("model.safetensors", 20_000)
	fake.CutNext("tokenizer.json", 7) // a git file, served by the hub itself
	_, err := hub.Download(ctx, name, opt)
	if err == nil || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("cut-off download: %v; want an error saying the next run resumes", err)
	}
	inc := filepath.Join(repoDir(opt), "blobs", hubtest.GitSHA1(files["tokenizer.json"])+".incomplete")
	if st, err := os.Stat(inc); err != nil || st.Size() != 7 {
		t.Fatalf("%s after the cut: %v (want 7 bytes kept)", inc, err)
	}
	_, err = hub.Download(ctx, name, opt)
	if err == nil {
		t.Fatal("the cut-off weights download succeeded")
	}
	inc = filepath.Join(repoDir(opt), "blobs", sum+".incomplete")
	if st, err := os.Stat(inc); err != nil || st.Size() != 20_000 {
		t.Fatalf("%s after the cut: %v (want 20000 bytes kept)", inc, err)
	}
	if _, err := os.Lstat(filepath.Join(repoDir(opt), "snapshots")); err == nil {
		entries, _ := filepath.Glob(filepath.Join(repoDir(opt), "snapshots", "*", "model.safetensors"))
		if len(entries) != 0 {
			t.Fatalf("a cut-off file reached the snapshot: %v", entries)
		}
	}
	n := len(fake.Requests())
	s, err := hub.Download(ctx, name, opt)
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET /" + sum + " Range: bytes=20000-"; !slices.Contains(requestsSince(fake, n), want) {
		t.Errorf("resumed download requests %v lack %q", requestsSince(fake, n), want)
	}
	if s.Downloaded != 30_000 {
		t.Errorf("resumed download moved %d bytes, want the 30000 left", s.Downloaded)
	}
	reqs := strings.Join(fake.Requests(), "\n")
	if !strings.Contains(reqs, "/resolve/"+s.Commit+"/tokenizer.json Range: bytes=7-") {
		t.Errorf("the git file was not resumed with Range:\n%s", reqs)
	}
	checkSnapshot(t, opt, s.Commit, files, []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
}

func TestCorruptedLFSBodyIsRejectedAndNothingIsPlaced(t *testing.T) {
	fake := hubtest.New(t)
	files := tinyModel(7, 4096)
	fake.AddRepo(repoID, files)
	fake.Corrupt(files["model.safetensors"])
	opt := options(t, fake)
	_, err := hub.Download(context.Background(), hub.Name{Repo: repoID, Revision: "main"}, opt)
	if !errors.Is(err, hub.ErrCorrupt) || !strings.Contains(err.Error(), "SHA-256") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("corrupted body: %v; want ErrCorrupt naming the file and SHA-256", err)
	}
	sum := hubtest.SHA256(files["model.safetensors"])
	for _, p := range []string{
		filepath.Join(repoDir(opt), "blobs", sum),
		filepath.Join(repoDir(opt), "blobs", sum+".incomplete"),
	} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists after a checksum mismatch", p)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(repoDir(opt), "snapshots", "*", "model.safetensors")); len(m) != 0 {
		t.Errorf("the corrupted file was placed in the snapshot: %v", m)
	}
	if _, err := hub.Resolve(context.Background(), repoID, hub.Options{CacheDir: opt.CacheDir, Offline: true}); !errors.Is(err, hub.ErrOffline) {
		t.Errorf("the cache counts as complete after a rejected download: %v", err)
	}
}

func TestGatedRepoWithAndWithoutToken(t *testing.T) {
	fake := hubtest.New(t)
	r := fake.AddRepo(repoID, tinyModel(8, 1000))
	r.Gated, r.Token = true, "hf_granted"
	ctx := context.Background()
	name := hub.Name{Repo: repoID, Revision: "main"}

	opt := options(t, fake)
	_, err := hub.Download(ctx, name, opt)
	if !errors.Is(err, hub.ErrGated) {
		t.Fatalf("no token: %v; want ErrGated", err)
	}
	for _, want := range []string{"access must be requested", fake.URL + "/" + repoID, "no token was sent", "HF_TOKEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no token: %q lacks %q", err, want)
		}
	}

	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_TOKEN", "hf_someone_else")
	env, err := hub.EnvOptions()
	if err != nil {
		t.Fatal(err)
	}
	opt.Token, opt.TokenSource = env.Token, env.TokenSource
	_, err = hub.Download(ctx, name, opt)
	if !errors.Is(err, hub.ErrGated) || !strings.Contains(err.Error(), "a token was sent (from HF_TOKEN)") || !strings.Contains(err.Error(), "has no access") {
		t.Fatalf("token without access: %v; want ErrGated saying a token was sent", err)
	}

	// The granted token, read from the token file; the CDN answers 400 if it is sent there too.
	t.Setenv("HF_TOKEN", "")
	tokenFile := filepath.Join(os.Getenv("HF_HOME"), "token")
	must(t, os.WriteFile(tokenFile, []byte("hf_granted\n"), 0o600))
	env, err = hub.EnvOptions()
	if err != nil || env.Token != "hf_granted" || env.TokenSource != tokenFile {
		t.Fatalf("EnvOptions token = %q from %q, %v; want the token file's", env.Token, env.TokenSource, err)
	}
	opt.Token, opt.TokenSource = env.Token, env.TokenSource
	s, err := hub.Download(ctx, name, opt)
	if err != nil {
		t.Fatalf("granted token: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "model.safetensors")); err != nil {
		t.Error(err)
	}
}

func TestRevisionsOtherThanMain(t *testing.T) {
	fake := hubtest.New(t)
	v1, v2 := tinyModel(1, 1000), tinyModel(2, 1200)
	fake.AddRepo(repoID, v1)
	c2 := fake.AddCommit(repoID, "dev", v2)
	c3 := fake.AddCommit(repoID, "refs/pr/1", tinyModel(3, 900))
	opt := options(t, fake)
	ctx := context.Background()

	dev, err := hub.Resolve(ctx, repoID+"@dev", opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := readRef(t, opt, "dev"); got != c2 || dev != filepath.Join(repoDir(opt), "snapshots", c2) {
		t.Errorf("@dev: refs/dev = %s, dir %s; want commit %s", got, dev, c2)
	}
	if _, err := os.Stat(filepath.Join(repoDir(opt), "refs", "main")); err == nil {
		t.Error("resolving @dev wrote refs/main")
	}
	checkSnapshot(t, opt, c2, v2, []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})

	// The commit of main, by hash: no ref is written for a hash, the snapshot is named by it.
	main, err := hub.Download(ctx, hub.Name{Repo: repoID, Revision: "main"}, hub.Options{CacheDir: t.TempDir(), Endpoint: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	byHash, err := hub.Resolve(ctx, repoID+"@"+main.Commit, opt)
	if err != nil {
		t.Fatal(err)
	}
	if byHash != filepath.Join(repoDir(opt), "snapshots", main.Commit) {
		t.Errorf("@%s resolved to %s", main.Commit, byHash)
	}
	if _, err := os.Stat(filepath.Join(repoDir(opt), "refs", main.Commit)); err == nil {
		t.Error("a ref file was written for a commit hash")
	}
	checkSnapshot(t, opt, main.Commit, v1, []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
	n := len(fake.Requests())
	if again, err := hub.Resolve(ctx, repoID+"@"+main.Commit, opt); err != nil || again != byHash {
		t.Errorf("second resolve by hash: %s, %v", again, err)
	}
	if extra := requestsSince(fake, n); len(extra) != 0 {
		t.Errorf("resolving a cached commit hash made requests: %v", extra)
	}

	// A revision with slashes (a pull request) is escaped in the URL and nested under refs/.
	if _, err := hub.Resolve(ctx, repoID+"@refs/pr/1", opt); err != nil {
		t.Fatal(err)
	}
	if got := readRef(t, opt, "refs/pr/1"); got != c3 {
		t.Errorf("refs/refs/pr/1 = %s, want %s", got, c3)
	}
	if !slices.Contains(fake.Requests(), "GET /api/models/acme/tiny-llama/revision/refs%2Fpr%2F1") {
		t.Errorf("the revision was not escaped as huggingface_hub escapes it: %v", fake.Requests())
	}

	_, err = hub.Resolve(ctx, repoID+"@nope", opt)
	if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), `revision "nope"`) {
		t.Errorf("unknown revision: %v", err)
	}
}

func TestConcurrentDownloadsOfOneBlobTransferItOnce(t *testing.T) {
	fake := hubtest.New(t)
	files := tinyModel(9, 2_000_000)
	fake.AddRepo(repoID, files)
	opt := options(t, fake)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := hub.Download(context.Background(), hub.Name{Repo: repoID, Revision: "main"}, opt)
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	gets := 0
	for _, r := range fake.Requests() {
		if r == "GET /"+hubtest.SHA256(files["model.safetensors"]) {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("the LFS body was transferred %d times by three concurrent downloads, want once", gets)
	}
}

func TestResolveKeepsLocalPathsAndExplainsUnknownNames(t *testing.T) {
	fake := hubtest.New(t)
	opt := options(t, fake)
	ctx := context.Background()
	t.Chdir(t.TempDir())
	must(t, os.MkdirAll(filepath.Join("acme", "tiny-llama"), 0o755))
	if dir, err := hub.Resolve(ctx, "acme/tiny-llama", opt); err != nil || dir != "acme/tiny-llama" {
		t.Errorf("an existing folder named like a repository: %s, %v; want the folder", dir, err)
	}
	for _, p := range []string{"../missing/model", "/no/such/dir", "model-dir"} {
		if dir, err := hub.Resolve(ctx, p, opt); err != nil || dir != p {
			t.Errorf("Resolve(%q) = %q, %v; want the path back for the loader to report", p, dir, err)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("local paths made %d requests", n)
	}
	_, err := hub.Resolve(ctx, "runs/lora-1", opt)
	if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), "neither a folder here nor a model on the hub") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestParseName(t *testing.T) {
	for _, c := range []struct {
		in, repo, rev string
	}{
		{"Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", "main"},
		{"meta-llama/Llama-3.2-1B-Instruct@v1.0", "meta-llama/Llama-3.2-1B-Instruct", "v1.0"},
		{"google/gemma-3-1b-it@refs/pr/12", "google/gemma-3-1b-it", "refs/pr/12"},
		{"a_b/c.d@0123456789abcdef0123456789abcdef01234567", "a_b/c.d", "0123456789abcdef0123456789abcdef01234567"},
	} {
		n, err := hub.ParseName(c.in)
		if err != nil || n.Repo != c.repo || n.Revision != c.rev {
			t.Errorf("ParseName(%q) = %+v, %v; want %s @ %s", c.in, n, err, c.repo, c.rev)
		}
	}
	for _, bad := range []string{"gpt2", "a/b/c", "./x", "../models/x", "/abs/path", "org/-x", "org/x-", "or--g/x", "org/x..y",
		"org/x.git", "org/x@", "org/x@../y", "C:/x", ".hidden/x", "org/" + strings.Repeat("x", 100)} {
		if n, err := hub.ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) = %+v, want an error", bad, n)
		}
	}
}

func TestEnvOptionsFollowHuggingfaceHubPrecedence(t *testing.T) {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_ENDPOINT", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"} {
		t.Setenv(k, "")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	o, err := hub.EnvOptions()
	must(t, err)
	check("default cache", o.CacheDir, filepath.Join(home, ".cache", "huggingface", "hub"))
	check("default endpoint", o.Endpoint, "https://huggingface.co")
	check("default token", o.Token, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	o, _ = hub.EnvOptions()
	check("XDG cache", o.CacheDir, filepath.FromSlash("/xdg/huggingface/hub"))
	t.Setenv("HF_HOME", "~/hf")
	o, _ = hub.EnvOptions()
	check("HF_HOME cache", o.CacheDir, filepath.Join(home, "hf", "hub"))
	t.Setenv("HF_HUB_CACHE", "/hubcache")
	t.Setenv("HF_ENDPOINT", "http://mirror.example/")
	t.Setenv("HF_HUB_OFFLINE", "true")
	must(t, os.MkdirAll(filepath.Join(home, "hf"), 0o755))
	must(t, os.WriteFile(filepath.Join(home, "hf", "token"), []byte(" hf_file \n"), 0o600))
	o, _ = hub.EnvOptions()
	check("HF_HUB_CACHE", o.CacheDir, "/hubcache")
	check("HF_ENDPOINT", o.Endpoint, "http://mirror.example")
	check("token file", o.Token, "hf_file")
	if !o.Offline {
		t.Error("HF_HUB_OFFLINE=true not read as offline")
	}
	t.Setenv("HF_TOKEN_PATH", filepath.Join(home, "other-token"))
	must(t, os.WriteFile(filepath.Join(home, "other-token"), []byte("hf_other"), 0o600))
	o, _ = hub.EnvOptions()
	check("HF_TOKEN_PATH", o.Token, "hf_other")
	t.Setenv("HF_TOKEN", "hf_env")
	o, _ = hub.EnvOptions()
	check("HF_TOKEN", o.Token, "hf_env")
	check("token source", o.TokenSource, "HF_TOKEN")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A server that ignores Range answers 200 with the whole body: the kept prefix is dropped, not
// appended to, and the file is whole and verified.
func TestResumeAgainstServerWithoutRangeStartsOver(t *testing.T) {
	fake := hubtest.New(t)
	files := tinyModel(10, 30_000)
	fake.AddRepo(repoID, files)
	opt := options(t, fake)
	name := hub.Name{Repo: repoID, Revision: "main"}
	fake.CutNext("model.safetensors", 12_345)
	if _, err := hub.Download(context.Background(), name, opt); err == nil {
		t.Fatal("the cut-off download succeeded")
	}
	fake.IgnoreRange()
	s, err := hub.Download(context.Background(), name, opt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Downloaded != 30_000 {
		t.Errorf("moved %d bytes, want the whole 30000 again", s.Downloaded)
	}
	checkSnapshot(t, opt, s.Commit, files, []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
}
