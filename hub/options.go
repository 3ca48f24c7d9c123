package hub

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultEndpoint is the public hub, used when $HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// Options say where the cache is, which hub to ask and how. EnvOptions fills them the way
// huggingface_hub reads its environment; a zero field means "none" (no token, no progress).
type Options struct {
	CacheDir    string       // the hub cache holding models--org--name folders
	Endpoint    string       // hub base URL, without a trailing slash
	Token       string       // bearer token for gated and private repositories; "" sends none
	TokenSource string       // where Token came from ("HF_TOKEN" or the token file), for messages
	Offline     bool         // HF_HUB_OFFLINE: never touch the network, use the cache only
	Progress    io.Writer    // download progress (a bar on a terminal, else a line per file); nil: silent
	Client      *http.Client // nil: a client with connection timeouts and no body timeout
}

// EnvOptions reads huggingface_hub's variables:
//
//	cache    $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
//	         $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
//	endpoint $HF_ENDPOINT, else https://huggingface.co
//	token    $HF_TOKEN, else the file $HF_TOKEN_PATH, else $HF_HOME/token
//	offline  $HF_HUB_OFFLINE set to 1, true, yes or on
//
// A token file that exists but cannot be read is an error; one that does not exist means no token.
func EnvOptions() (Options, error) {
	home := hfHome()
	o := Options{
		CacheDir: firstNonEmpty(expandHome(os.Getenv("HF_HUB_CACHE")), expandHome(os.Getenv("HUGGINGFACE_HUB_CACHE")), filepath.Join(home, "hub")),
		Endpoint: strings.TrimRight(firstNonEmpty(os.Getenv("HF_ENDPOINT"), DefaultEndpoint), "/"),
		Offline:  isTrue(os.Getenv("HF_HUB_OFFLINE")),
	}
	if t := strings.TrimSpace(os.Getenv("HF_TOKEN")); t != "" {
		o.Token, o.TokenSource = t, "HF_TOKEN"
		return o, nil
	}
	path := firstNonEmpty(expandHome(os.Getenv("HF_TOKEN_PATH")), filepath.Join(home, "token"))
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return o, errors.New("hub: reading the token file: " + err.Error())
	default:
		if t := strings.TrimSpace(string(b)); t != "" {
			o.Token, o.TokenSource = t, path
		}
	}
	return o, nil
}

// hfHome is $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func hfHome() string {
	if h := expandHome(os.Getenv("HF_HOME")); h != "" {
		return h
	}
	if x := expandHome(os.Getenv("XDG_CACHE_HOME")); x != "" {
		return filepath.Join(x, "huggingface")
	}
	return filepath.Join(expandHome("~"), ".cache", "huggingface")
}

// expandHome replaces a leading ~ by the home folder, like Python's os.path.expanduser.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(h, strings.TrimPrefix(p, "~"))
}

// isTrue follows huggingface_hub's _is_true: 1, ON, YES, TRUE in any case.
func isTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// httpClient is o.Client or a default one: connection and header timeouts, none on the body
// (a large shard may take an hour), and redirects left to the caller.
func (o Options) httpClient() *http.Client {
	c := o.Client
	if c == nil {
		c = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}
