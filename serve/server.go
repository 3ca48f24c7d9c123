package serve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Server. Zero values take the defaults named on each field.
type Options struct {
	ModelDir    string // Hugging Face model folder (required)
	AdaptersDir string // folder whose subfolders are the served adapters ("" = base model only)
	ModelName   string // the base model's name in requests; default: the model folder's name
	APIKey      string // required as "Authorization: Bearer KEY" on /v1/ when set
	RuntimeLoad bool   // enable /v1/load_lora_adapter and /v1/unload_lora_adapter
	BaseDtype   string // how the frozen base is held (model.ParseBaseDtype: auto, f32, bf16, f16, q8; "" = auto)

	MaxBatch   int           // sequences in the batch at once (1 = no batching); default 32
	MaxQueue   int           // requests waiting for the batch; default 256
	MaxContext int           // prompt + completion tokens of a request; default the model's position limit (2048 without one)
	MaxBody    int64         // request body bytes; default 1 MiB
	Timeout    time.Duration // per request, queueing included; default 5 minutes

	Logger *slog.Logger // default: discard
}

func (o *Options) defaults(m *model.Model) {
	if o.ModelName == "" {
		o.ModelName = filepath.Base(filepath.Clean(o.ModelDir))
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 32
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 256
	}
	if o.MaxContext <= 0 {
		o.MaxContext = m.Config.MaxPositionEmbeddings
		if o.MaxContext <= 0 {
			o.MaxContext = 2048
		}
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is the OpenAI-compatible server: a model, its tokenizer, the served adapters and the
// scheduler. Handler serves HTTP; Close stops the scheduler (after the HTTP server has drained).
type Server struct {
	opt     Options
	m       *model.Model
	tok     *tokenizer.Tokenizer
	chat    ChatTemplate
	stopIDs []int
	reg     *registry
	sched   *scheduler
	metrics *metrics
	log     *slog.Logger
	created int64
}

// New opens the model and its tokenizer (jobs.Open, as every command does), loads every adapter
// under opt.AdaptersDir detached, and starts the scheduler.
func New(opt Options) (*Server, error) {
	if opt.ModelDir == "" {
		return nil, fmt.Errorf("--model is required")
	}
	base, err := model.ParseBaseDtype(opt.BaseDtype)
	if err != nil {
		return nil, fmt.Errorf("--base-dtype: %w", err)
	}
	op, err := jobs.Open{Model: opt.ModelDir, Tokenizer: true, Base: base}.Load()
	if err != nil {
		return nil, err
	}
	m, tok := op.Model, op.Tokenizer
	opt.ModelDir = op.Dir
	stop, err := generate.StopIDsFromModelDir(opt.ModelDir)
	if err != nil {
		return nil, err
	}
	if eos := tok.EOS(); eos >= 0 {
		stop = append(stop, eos)
	}
	opt.defaults(m)
	if m.Config.Family == model.FamilyGPT2 && opt.MaxContext > m.Config.MaxPositionEmbeddings {
		return nil, fmt.Errorf("--max-context %d exceeds the model's %d positions (n_positions in %s/config.json)", opt.MaxContext, m.Config.MaxPositionEmbeddings, opt.ModelDir)
	}
	tmpl, tmplFrom := chatTemplateFor(op)
	reg, err := newRegistry(opt.AdaptersDir, m)
	if err != nil {
		return nil, err
	}
	names, err := reg.loadAll()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == opt.ModelName {
			return nil, fmt.Errorf("adapter folder %q has the base model's name; rename it or pass --served-model-name", n)
		}
	}
	mt := newMetrics()
	s := &Server{opt: opt, m: m, tok: tok, chat: tmpl, stopIDs: stop, reg: reg,
		sched: newScheduler(m, opt.MaxBatch, opt.MaxQueue, mt), metrics: mt, log: opt.Logger, created: time.Now().Unix()}
	s.log.Info("model loaded", "model", opt.ModelName, "dir", opt.ModelDir, "params", m.NumParams(), "adapters", names,
		"max_batch", opt.MaxBatch, "max_queue", opt.MaxQueue, "max_context", opt.MaxContext, "chat_template", tmplFrom)
	return s, nil
}

// SetChatTemplate replaces the chat format (the project's documented one by default).
func (s *Server) SetChatTemplate(t ChatTemplate) { s.chat = t }

// Running is the number of sequences in the batch now.
func (s *Server) Running() int { return s.sched.Running() }

// Close refuses new requests and stops the scheduler once it holds none (call it after the HTTP
// server's Shutdown has drained the in-flight requests).
func (s *Server) Close() { s.sched.close() }

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/models", s.auth(s.models))
	mux.HandleFunc("POST /v1/completions", s.auth(s.completions))
	mux.HandleFunc("POST /v1/chat/completions", s.auth(s.chatCompletions))
	mux.HandleFunc("POST /v1/load_lora_adapter", s.auth(s.loadAdapter))
	mux.HandleFunc("POST /v1/unload_lora_adapter", s.auth(s.unloadAdapter))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, Type: "invalid_request_error",
			Message: fmt.Sprintf("no route %s %s (see /v1/models, /v1/completions, /v1/chat/completions, /health, /metrics)", r.Method, r.URL.Path)})
	})
	return s.observe(mux)
}

// statusWriter records the status code for the access log and metrics, and passes Flush on.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// observe logs every request and counts it by endpoint and status; it also caps the body size.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r.Body = http.MaxBytesReader(sw, r.Body, s.opt.MaxBody)
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		ep := endpoint(r.URL.Path)
		d := time.Since(t0)
		s.metrics.requests.WithLabelValues(ep, fmt.Sprint(sw.code)).Inc()
		s.metrics.latency.WithLabelValues(ep).Observe(d.Seconds())
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.code, "duration_ms", d.Milliseconds(), "remote", r.RemoteAddr)
	})
}

// endpoint is the metrics label of a path (unknown paths share one label).
func endpoint(p string) string {
	switch p {
	case "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions", "/v1/load_lora_adapter", "/v1/unload_lora_adapter":
		return p
	}
	return "other"
}

// auth requires "Authorization: Bearer KEY" when the server has an API key.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.opt.APIKey == "" {
		return h
	}
	want := []byte("Bearer " + s.opt.APIKey)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			msg := "Incorrect API key provided."
			if len(got) == 0 {
				msg = "Missing API key: send it as \"Authorization: Bearer KEY\"."
			}
			writeError(w, &apiError{status: http.StatusUnauthorized, Message: msg, Type: "invalid_request_error", Code: strp("invalid_api_key")})
			return
		}
		h(w, r)
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "running": s.sched.Running()})
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	list := modelList{Object: "list", Data: []modelCard{{ID: s.opt.ModelName, Object: "model", Created: s.created, OwnedBy: "moslora", Root: s.opt.ModelDir}}}
	for _, a := range s.reg.list() {
		list.Data = append(list.Data, modelCard{ID: a.name, Object: "model", Created: s.created, OwnedBy: "moslora", Root: a.dir, Parent: strp(s.opt.ModelName)})
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) loadAdapter(w http.ResponseWriter, r *http.Request) {
	req, ok := s.loraBody(w, r)
	if !ok {
		return
	}
	if req.LoraName == s.opt.ModelName {
		writeError(w, badRequest("lora_name", "lora_name %q is the base model's name", req.LoraName))
		return
	}
	if err := s.reg.load(req.LoraName, req.LoraPath); err != nil {
		s.log.Warn("adapter load refused", "lora_name", req.LoraName, "lora_path", req.LoraPath, "err", err)
		writeError(w, badRequest("lora_path", "%v", err))
		return
	}
	s.log.Info("adapter loaded", "lora_name", req.LoraName, "lora_path", req.LoraPath)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Success: LoRA adapter '%s' added successfully.", req.LoraName)
}

func (s *Server) unloadAdapter(w http.ResponseWriter, r *http.Request) {
	req, ok := s.loraBody(w, r)
	if !ok {
		return
	}
	if err := s.reg.unload(req.LoraName); err != nil {
		writeError(w, &apiError{status: http.StatusNotFound, Message: err.Error(), Type: "invalid_request_error", Param: strp("lora_name")})
		return
	}
	s.log.Info("adapter unloaded", "lora_name", req.LoraName)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Success: LoRA adapter '%s' removed successfully.", req.LoraName)
}

func (s *Server) loraBody(w http.ResponseWriter, r *http.Request) (loraRequest, bool) {
	var req loraRequest
	if !s.opt.RuntimeLoad {
		writeError(w, &apiError{status: http.StatusNotFound, Type: "invalid_request_error",
			Message: "loading adapters at run time is disabled; start the server with --allow-runtime-lora"})
		return req, false
	}
	if e := decodeBody(r, &req); e != nil {
		writeError(w, e)
		return req, false
	}
	return req, true
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// randomSeed draws a sampling seed for a request that gave none.
func randomSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// requestContext is the request's context with the per-request timeout.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opt.Timeout)
}
