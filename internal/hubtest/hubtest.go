// Package hubtest is a fake Hugging Face hub for tests: an httptest server that answers the
// requests huggingface_hub and package hub make, the way the real hub answers them, plus a
// second server standing for the CDN that serves LFS files. It never reaches the network.
//
//	GET  /api/models/{org}/{name}/revision/{rev}   {"id", "sha", "siblings": [{"rfilename"}]}
//	HEAD /{org}/{name}/resolve/{rev}/{file}        git file: 200, ETag "<git sha-1>", X-Repo-Commit,
//	GET                                            Content-Length (GET: the body, Range honoured)
//	                                               LFS file: 302 to the CDN, X-Linked-Etag "<sha-256>",
//	                                               X-Linked-Size, ETag of the pointer, X-Repo-Commit
//	GET  {cdn}/{sha256}?X-Amz-Signature=…          the LFS body, Range honoured; 400 if an
//	                                               Authorization header is sent (as S3 refuses it)
//
// Refusals carry X-Error-Code and X-Error-Message as the hub's do: RepoNotFound (401),
// RevisionNotFound / EntryNotFound (404), GatedRepo (401 without a token, 403 with a token
// that has no access). As on the hub, a gated repository's file list is public and the gate
// stands before its files.
//
// Imported only by tests: nothing in the shipped binary links it.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Hub is the fake hub. Add repositories with AddRepo, then point package hub at URL.
type Hub struct {
	URL string // base URL of the hub (HF_ENDPOINT)

	hub, cdn *httptest.Server
	mu       sync.Mutex
	repos    map[string]*Repo
	blobs    map[string][]byte // sha-256 → LFS body served by the CDN
	blobFile map[string]string // sha-256 → its file name
	log      []string          // "METHOD path [Range]" of every request, hub and CDN
	cutAfter map[string]int    // file → cut the next body after this many bytes
	corrupt  map[string]bool   // sha-256 → the CDN serves a flipped byte
	noRange  bool              // answer Range requests with 200 and the whole body
}

// Repo is one model repository with its commits.
type Repo struct {
	ID      string
	Refs    map[string]string            // branch or tag → commit
	Commits map[string]map[string][]byte // commit → file → bytes
	Gated   bool                         // only requests with Token get through
	Token   string                       // the token granted access to a gated repo
}

// New starts the hub and its CDN; both close when the test ends.
func New(t testing.TB) *Hub {
	h := &Hub{repos: map[string]*Repo{}, blobs: map[string][]byte{}, blobFile: map[string]string{}, cutAfter: map[string]int{}, corrupt: map[string]bool{}}
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.URL = h.hub.URL
	t.Cleanup(h.hub.Close)
	t.Cleanup(h.cdn.Close)
	return h
}

// AddRepo adds a repository whose branch "main" points at one commit holding files, and
// returns it (add branches and commits with AddCommit).
func (h *Hub) AddRepo(id string, files map[string][]byte) *Repo {
	h.mu.Lock()
	r := &Repo{ID: id, Refs: map[string]string{}, Commits: map[string]map[string][]byte{}}
	h.repos[id] = r
	h.mu.Unlock()
	h.AddCommit(id, "main", files)
	return r
}

// AddCommit adds a commit holding files to repository id, points branch at it (when branch is
// not ""), and returns the commit hash (a sha-1 of the content, so it is stable).
func (h *Hub) AddCommit(id, branch string, files map[string][]byte) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.repos[id]
	hs := sha1.New()
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		fmt.Fprintf(hs, "%s %x\n", f, sha256.Sum256(files[f]))
		if IsLFS(f) {
			h.blobs[SHA256(files[f])] = files[f]
			h.blobFile[SHA256(files[f])] = f
		}
	}
	fmt.Fprintf(hs, "%s %d", id, len(r.Commits))
	commit := hex.EncodeToString(hs.Sum(nil))
	r.Commits[commit] = files
	if branch != "" {
		r.Refs[branch] = commit
	}
	return commit
}

// IsLFS reports whether the fake hub stores a file in LFS: weights, as the real hub does.
func IsLFS(file string) bool { return strings.HasSuffix(file, ".safetensors") }

// SHA256 is an LFS file's ETag; GitSHA1 a git file's.
func SHA256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// GitSHA1 is git's blob id of b: sha-1("blob <len>\x00" + b).
func GitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// ETag is the name the cache gives a file's blob.
func ETag(file string, b []byte) string {
	if IsLFS(file) {
		return SHA256(b)
	}
	return GitSHA1(b)
}

// CutNext makes the next body served for file (by the hub or the CDN) stop after n bytes, the
// connection dropped mid-body.
func (h *Hub) CutNext(file string, n int) {
	h.mu.Lock()
	h.cutAfter[file] = n
	h.mu.Unlock()
}

// IgnoreRange makes the hub and the CDN answer a Range request with 200 and the whole body, as
// a server without range support does.
func (h *Hub) IgnoreRange() {
	h.mu.Lock()
	h.noRange = true
	h.mu.Unlock()
}

// Corrupt makes the CDN serve body (an LFS file's bytes) with one byte flipped, size unchanged.
func (h *Hub) Corrupt(body []byte) {
	h.mu.Lock()
	h.corrupt[SHA256(body)] = true
	h.mu.Unlock()
}

// Requests returns the requests served so far, hub and CDN, as "METHOD path" (+ " Range: …"
// when one was sent).
func (h *Hub) Requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

func (h *Hub) record(r *http.Request) {
	e := r.Method + " " + r.URL.EscapedPath()
	if rg := r.Header.Get("Range"); rg != "" {
		e += " Range: " + rg
	}
	h.mu.Lock()
	h.log = append(h.log, e)
	h.mu.Unlock()
}

func refuse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// access checks the token against a gated repository as the hub does.
func (h *Hub) access(w http.ResponseWriter, r *http.Request, repo *Repo) bool {
	if !repo.Gated {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || tok == "":
		refuse(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+repo.ID+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		return false
	case tok != repo.Token:
		refuse(w, http.StatusForbidden, "GatedRepo", "Access to model "+repo.ID+" is restricted and you are not in the authorized list. Visit "+h.URL+"/"+repo.ID+" to ask for access.")
		return false
	}
	return true
}

// lookup finds a repository and the commit a revision names (branch, tag or full hash); gate
// applies a gated repository's access check.
func (h *Hub) lookup(w http.ResponseWriter, r *http.Request, id, rev string, gate bool) (*Repo, string, bool) {
	h.mu.Lock()
	repo := h.repos[id]
	h.mu.Unlock()
	if repo == nil {
		refuse(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return nil, "", false
	}
	if gate && !h.access(w, r, repo) {
		return nil, "", false
	}
	h.mu.Lock()
	commit, ok := repo.Refs[rev]
	if !ok {
		if _, isCommit := repo.Commits[rev]; isCommit {
			commit, ok = rev, true
		}
	}
	h.mu.Unlock()
	if !ok {
		refuse(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, "", false
	}
	return repo, commit, true
}

func (h *Hub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.record(r)
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok && r.Method == http.MethodGet {
		seg := strings.SplitN(rest, "/", 4) // org, name, "revision", rev
		if len(seg) != 4 || seg[2] != "revision" {
			http.NotFound(w, r)
			return
		}
		rev, err := url.PathUnescape(seg[3])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		repo, commit, ok := h.lookup(w, r, seg[0]+"/"+seg[1], rev, false)
		if !ok {
			return
		}
		h.mu.Lock()
		files := repo.Commits[commit]
		names := make([]string, 0, len(files)+2)
		for f := range files {
			names = append(names, f)
		}
		h.mu.Unlock()
		names = append(names, ".gitattributes", "README.md") // files a model does not need
		sort.Strings(names)
		sib := make([]map[string]string, len(names))
		for i, f := range names {
			sib[i] = map[string]string{"rfilename": f}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": repo.ID, "modelId": repo.ID, "sha": commit, "gated": repo.Gated, "siblings": sib})
		return
	}
	seg := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5) // org, name, "resolve", rev, file
	if len(seg) != 5 || seg[2] != "resolve" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	rev, err1 := url.PathUnescape(seg[3])
	file, err2 := url.PathUnescape(seg[4])
	if err1 != nil || err2 != nil {
		http.Error(w, "bad escape", http.StatusBadRequest)
		return
	}
	repo, commit, ok := h.lookup(w, r, seg[0]+"/"+seg[1], rev, true)
	if !ok {
		return
	}
	h.mu.Lock()
	body, ok := repo.Commits[commit][file]
	h.mu.Unlock()
	w.Header().Set("X-Repo-Commit", commit)
	if !ok {
		refuse(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	if IsLFS(file) {
		sum := SHA256(body)
		pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sum, len(body))
		w.Header().Set("ETag", `"`+GitSHA1([]byte(pointer))+`"`)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(body)))
		w.Header().Set("Location", h.cdn.URL+"/"+sum+"?X-Amz-Signature=fake&response-content-disposition=attachment")
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+GitSHA1(body)+`"`)
	h.serveBody(w, r, file, body)
}

func (h *Hub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record(r)
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified", http.StatusBadRequest)
		return
	}
	sum := strings.TrimPrefix(r.URL.Path, "/")
	h.mu.Lock()
	body, ok := h.blobs[sum]
	file := h.blobFile[sum]
	if ok && h.corrupt[sum] {
		body = append([]byte(nil), body...)
		body[len(body)/2] ^= 0xff
	}
	h.mu.Unlock()
	if !ok || r.URL.Query().Get("X-Amz-Signature") == "" {
		http.Error(w, "AccessDenied", http.StatusForbidden)
		return
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	h.serveBody(w, r, file, body)
}

// serveBody writes file's body honouring "Range: bytes=N-", and cuts the connection mid-body
// when CutNext asked for it.
func (h *Hub) serveBody(w http.ResponseWriter, r *http.Request, file string, body []byte) {
	w.Header().Set("Accept-Ranges", "bytes")
	start := 0
	h.mu.Lock()
	ignore := h.noRange
	h.mu.Unlock()
	if rg := r.Header.Get("Range"); rg != "" && !ignore {
		a, ok := strings.CutPrefix(rg, "bytes=")
		n, err := strconv.Atoi(strings.TrimSuffix(a, "-"))
		if !ok || !strings.HasSuffix(a, "-") || err != nil || n < 0 {
			http.Error(w, "unsupported Range", http.StatusBadRequest)
			return
		}
		if n >= len(body) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(body)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(body)-1, len(body)))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)-start))
	if start > 0 {
		w.WriteHeader(http.StatusPartialContent)
	}
	if r.Method == http.MethodHead {
		return
	}
	h.mu.Lock()
	cut, doCut := h.cutAfter[file]
	delete(h.cutAfter, file)
	h.mu.Unlock()
	if doCut && cut < len(body)-start {
		w.Write(body[start : start+cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	w.Write(body[start:])
}
