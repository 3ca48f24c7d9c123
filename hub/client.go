package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Kinds of failure a caller may test with errors.Is; the error's text says what to do.
var (
	ErrGated    = errors.New("gated repository")
	ErrNotFound = errors.New("not found on the hub")
	ErrOffline  = errors.New("offline")
	ErrCorrupt  = errors.New("download does not match the hub's checksum")
)

// kindError is a message in the user's terms that errors.Is matches against its kind.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, a ...any) error {
	return &kindError{msg: fmt.Sprintf(format, a...), kind: kind}
}

// client talks to one hub endpoint.
type client struct {
	opt  Options
	http *http.Client
}

// revisionInfo is the part of GET /api/models/{repo}/revision/{rev} that is used.
type revisionInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// fileMeta is what HEAD /{repo}/resolve/{commit}/{file} says about a file, read as
// huggingface_hub's get_hf_file_metadata reads it.
type fileMeta struct {
	Commit string // X-Repo-Commit
	ETag   string // X-Linked-Etag (LFS: the sha-256) or ETag (git sha-1), without W/ and quotes
	URL    string // where the body is: the Location of a redirect (the CDN for LFS files) or the resolve URL
	Size   int64  // X-Linked-Size or Content-Length; -1 when neither is given
	Auth   bool   // the body URL is on the hub itself, so the token goes with it
}

// normalizeETag turns W/"abc" or "abc" into abc (huggingface_hub's _normalize_etag).
func normalizeETag(s string) string { return strings.Trim(strings.TrimPrefix(s, "W/"), `"`) }

// escapePath quotes each segment of a slash-separated path, keeping the slashes (Python's
// urllib.parse.quote with safe="/").
func escapePath(p string) string {
	seg := strings.Split(p, "/")
	for i, s := range seg {
		seg[i] = url.PathEscape(s)
	}
	return strings.Join(seg, "/")
}

func (c *client) newRequest(ctx context.Context, method, u string, auth bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	req.Header.Set("User-Agent", "moslora")
	// Asking for the bytes as stored keeps ETag, Content-Length and Range about the file itself.
	req.Header.Set("Accept-Encoding", "identity")
	if auth && c.opt.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opt.Token)
	}
	return req, nil
}

// revision asks which commit a revision is and which files it holds.
func (c *client) revision(ctx context.Context, n Name) (*revisionInfo, error) {
	u := c.opt.Endpoint + "/api/models/" + escapePath(n.Repo) + "/revision/" + url.PathEscape(n.Revision)
	req, err := c.newRequest(ctx, http.MethodGet, u, true)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hub: cannot reach %s: %w", c.opt.Endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, n, "")
	}
	var info revisionInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("hub: %s: reading the answer of %s: %v", n, u, err)
	}
	if !commitHash.MatchString(info.SHA) {
		return nil, fmt.Errorf("hub: %s: %s answered sha %q, expected a 40-character commit hash", n, u, info.SHA)
	}
	return &info, nil
}

// head asks for a file's metadata at a commit without following a redirect to another host
// (the CDN link of an LFS file is where its body is; the token must not go there). Redirects
// within the hub (a renamed repository) are followed.
func (c *client) head(ctx context.Context, n Name, commit, file string) (*fileMeta, error) {
	u := c.opt.Endpoint + "/" + escapePath(n.Repo) + "/resolve/" + commit + "/" + escapePath(file)
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, http.MethodHead, u, true)
		if err != nil {
			return nil, err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("hub: cannot reach %s: %w", c.opt.Endpoint, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			raw, err := url.Parse(resp.Header.Get("Location"))
			loc, err2 := resp.Location()
			if err != nil || err2 != nil {
				return nil, fmt.Errorf("hub: %s: %s answered %s without a usable Location", file, u, resp.Status)
			}
			if raw.Host == "" && hops < 5 {
				u = loc.String() // a relative redirect stays on the hub (a renamed repository): follow it
				continue
			}
			return metaOf(resp, loc.String(), false)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, c.statusError(resp, n, file)
		}
		return metaOf(resp, u, true)
	}
}

func metaOf(resp *http.Response, body string, auth bool) (*fileMeta, error) {
	m := &fileMeta{
		Commit: resp.Header.Get("X-Repo-Commit"),
		ETag:   normalizeETag(firstNonEmpty(resp.Header.Get("X-Linked-Etag"), resp.Header.Get("ETag"))),
		URL:    body,
		Size:   -1,
		Auth:   auth,
	}
	if s := firstNonEmpty(resp.Header.Get("X-Linked-Size"), resp.Header.Get("Content-Length")); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("hub: %s: size header %q is not a byte count", resp.Request.URL, s)
		}
		m.Size = n
	}
	if m.ETag == "" || strings.ContainsAny(m.ETag, `/\`) || m.ETag == "." || m.ETag == ".." {
		return nil, fmt.Errorf("hub: %s has no usable ETag (%q): the file cannot be cached reproducibly", resp.Request.URL, m.ETag)
	}
	return m, nil
}

// statusError turns a refusal into a message in the user's terms, reading the hub's
// X-Error-Code (GatedRepo, RepoNotFound, RevisionNotFound, EntryNotFound) and X-Error-Message.
func (c *client) statusError(resp *http.Response, n Name, file string) error {
	code, msg := resp.Header.Get("X-Error-Code"), resp.Header.Get("X-Error-Message")
	if msg == "" && resp.Request.Method != http.MethodHead {
		var body struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body) == nil {
			msg = body.Error
		}
	}
	detail := ""
	if msg != "" {
		detail = " (the hub says: " + msg + ")"
	}
	page := c.opt.Endpoint + "/" + n.Repo
	tokenFiles := "HF_TOKEN or the token file ($HF_TOKEN_PATH, else $HF_HOME/token)"
	switch {
	case code == "GatedRepo" || (resp.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(msg), "gated")):
		if c.opt.Token == "" {
			return errorf(ErrGated, "hub: %s is a gated model: access must be requested on its page %s (log in, accept the conditions), "+
				"then give that account's token in %s; no token was sent%s", n.Repo, page, tokenFiles, detail)
		}
		return errorf(ErrGated, "hub: %s is a gated model: a token was sent (from %s) but its account has no access; "+
			"access must be requested on its page %s and granted first%s", n.Repo, c.opt.TokenSource, page, detail)
	case code == "RepoNotFound" || (resp.StatusCode == http.StatusUnauthorized && code == ""):
		private := "if it is private, set " + tokenFiles + ": no token was sent"
		if c.opt.Token != "" {
			private = "or it is private and the token from " + c.opt.TokenSource + " cannot see it"
		}
		return errorf(ErrNotFound, "hub: no model %s on %s (%s)%s", n.Repo, c.opt.Endpoint, private, detail)
	case code == "RevisionNotFound":
		return errorf(ErrNotFound, "hub: %s has no revision %q%s", n.Repo, n.Revision, detail)
	case code == "EntryNotFound" || (resp.StatusCode == http.StatusNotFound && file != ""):
		return errorf(ErrNotFound, "hub: %s has no file %s at %s%s", n.Repo, file, n.Revision, detail)
	case resp.StatusCode == http.StatusNotFound:
		return errorf(ErrNotFound, "hub: %s: %s answered 404%s", n, resp.Request.URL, detail)
	case resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("hub: %s: rate limited by %s; wait and run again%s", n, c.opt.Endpoint, detail)
	}
	what := n.String()
	if file != "" {
		what += " " + file
	}
	return fmt.Errorf("hub: %s: %s %s answered %s%s", what, resp.Request.Method, resp.Request.URL, resp.Status, detail)
}
