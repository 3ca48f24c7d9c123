package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/model"
)

// decodeBody reads a JSON body into v: 413 past the size limit, 400 for anything not JSON.
func decodeBody(r *http.Request, v any) *apiError {
	err := json.NewDecoder(r.Body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
			Message: fmt.Sprintf("request body exceeds the server's limit of %d bytes (--max-body)", tooBig.Limit)}
	default:
		return badRequest("", "invalid JSON body: %v", err)
	}
}

// genRequest is a validated generation request.
type genRequest struct {
	model        string
	deltas       model.Deltas // nil: the base model
	prompt       []int
	maxNew       int
	sampling     generate.Sampling
	stops        []string
	stream       bool
	includeUsage bool
}

// resolve checks the sampling fields and the model, and sets the token budget: maxTokens if
// given, else def (≤ 0: what the context leaves).
func (s *Server) resolve(f *samplingFields, prompt []int, maxTokens *int, def int) (*genRequest, *apiError) {
	g := &genRequest{model: f.Model, prompt: prompt, stream: f.Stream}
	switch f.Model {
	case "":
		return nil, badRequest("model", "model is required (the base model %q or an adapter's name; see /v1/models)", s.opt.ModelName)
	case s.opt.ModelName:
	default:
		a := s.reg.get(f.Model)
		if a == nil {
			return nil, &apiError{status: http.StatusNotFound, Type: "invalid_request_error", Param: strp("model"), Code: strp("model_not_found"),
				Message: fmt.Sprintf("The model `%s` does not exist (see /v1/models).", f.Model)}
		}
		g.deltas = a
	}
	if f.StreamOptions != nil {
		g.includeUsage = f.StreamOptions.IncludeUsage
	}
	if f.N != nil && *f.N != 1 {
		return nil, badRequest("n", "n = %d: this server returns one choice per request", *f.N)
	}
	if f.PresencePenalty != 0 || f.FrequencyPenalty != 0 {
		return nil, badRequest("presence_penalty", "presence_penalty and frequency_penalty are not supported (send 0)")
	}
	g.sampling = generate.Sampling{Temperature: 1, TopP: 1}
	if t := f.Temperature; t != nil {
		if *t < 0 || *t > 2 || math.IsNaN(*t) {
			return nil, badRequest("temperature", "temperature %v must be between 0 and 2 (0 = greedy)", *t)
		}
		g.sampling.Temperature = *t
	}
	if p := f.TopP; p != nil {
		if !(*p > 0 && *p <= 1) {
			return nil, badRequest("top_p", "top_p %v must be in (0, 1]", *p)
		}
		g.sampling.TopP = *p
	}
	if k := f.TopK; k != nil {
		if *k < -1 {
			return nil, badRequest("top_k", "top_k %d must be ≥ 1, or -1 or 0 for no cut", *k)
		}
		g.sampling.TopK = max(*k, 0)
	}
	if f.Seed != nil {
		g.sampling.Seed = uint64(*f.Seed)
	} else {
		g.sampling.Seed = randomSeed()
	}
	var e *apiError
	if g.stops, e = stopStrings(f.Stop); e != nil {
		return nil, e
	}
	if len(prompt) == 0 {
		return nil, badRequest("prompt", "the prompt encodes to no tokens")
	}
	limit := s.opt.MaxContext
	switch {
	case maxTokens != nil && *maxTokens < 1:
		return nil, badRequest("max_tokens", "max_tokens %d must be ≥ 1", *maxTokens)
	case maxTokens != nil:
		g.maxNew = *maxTokens
	case def > 0:
		g.maxNew = min(def, limit-len(prompt))
	default:
		g.maxNew = limit - len(prompt)
	}
	if len(prompt)+g.maxNew > limit || g.maxNew < 1 {
		return nil, &apiError{status: http.StatusBadRequest, Type: "invalid_request_error", Param: strp("max_tokens"), Code: strp("context_length_exceeded"),
			Message: fmt.Sprintf("This server's maximum context length is %d tokens (--max-context); the request needs %d (%d in the prompt, %d for the completion).",
				limit, len(prompt)+max(g.maxNew, 1), len(prompt), max(g.maxNew, 1))}
	}
	return g, nil
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if e := decodeBody(r, &req); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case req.Echo:
		writeError(w, badRequest("echo", "echo is not supported"))
		return
	case req.Logprobs != nil:
		writeError(w, badRequest("logprobs", "logprobs are not supported"))
		return
	case req.BestOf != nil && *req.BestOf != 1:
		writeError(w, badRequest("best_of", "best_of = %d: only 1 is supported", *req.BestOf))
		return
	}
	text, e := promptText(req.Prompt)
	if e != nil {
		writeError(w, e)
		return
	}
	// As `moslora generate` does: special tokens included (BOS where the tokenizer adds one).
	g, e := s.resolve(&req.samplingFields, s.tok.Encode(text, true), req.MaxTokens, 16)
	if e != nil {
		writeError(w, e)
		return
	}
	s.run(w, r, g, false)
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if e := decodeBody(r, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.Logprobs {
		writeError(w, badRequest("logprobs", "logprobs are not supported"))
		return
	}
	msgs := make([]Message, len(req.Messages))
	for i, m := range req.Messages {
		text, e := messageText(i, m.Content)
		if e != nil {
			writeError(w, e)
			return
		}
		msgs[i] = Message{Role: m.Role, Content: text}
	}
	prompt, err := s.chat.Prompt(msgs)
	if err != nil {
		writeError(w, badRequest("messages", "%v", err))
		return
	}
	maxTokens := req.MaxCompletionTokens
	if maxTokens == nil {
		maxTokens = req.MaxTokens
	}
	g, e := s.resolve(&req.samplingFields, prompt, maxTokens, 0)
	if e != nil {
		writeError(w, e)
		return
	}
	s.run(w, r, g, true)
}

// run queues g, follows its tokens and writes the response: one JSON object, or server-sent
// events ending in "data: [DONE]" when streaming.
func (s *Server) run(w http.ResponseWriter, r *http.Request, g *genRequest, chat bool) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	q := &seq{ctx: ctx, prompt: g.prompt, maxNew: g.maxNew, stopIDs: s.stopIDs, sampler: generate.NewSampler(g.sampling),
		deltas: g.deltas, model: g.model}
	switch err := s.sched.submit(q); {
	case errors.Is(err, errQueueFull):
		w.Header().Set("Retry-After", "1")
		writeError(w, &apiError{status: http.StatusTooManyRequests, Type: "requests", Code: strp("rate_limit_exceeded"),
			Message: fmt.Sprintf("the server's queue is full (%d requests waiting, --max-queue); retry later", s.opt.MaxQueue)})
		return
	case err != nil:
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Type: "server_error", Message: "the server is shutting down"})
		return
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	object := "text_completion"
	if chat {
		id, object = newID("chatcmpl-"), "chat.completion"
	}
	var sse *sseWriter
	if g.stream {
		sse = newSSE(w)
		if chat {
			object = "chat.completion.chunk"
			sse.send(chatResponse{ID: id, Object: object, Created: created, Model: g.model,
				Choices: []chatChoice{{Delta: &chatDelta{Role: "assistant", Content: strp("")}}}})
		}
	}
	chunk := func(text string, finish *string, u *usage) any {
		if chat {
			c := chatChoice{FinishReason: finish, Delta: &chatDelta{}}
			if text != "" || finish == nil {
				c.Delta.Content = strp(text)
			}
			return chatResponse{ID: id, Object: object, Created: created, Model: g.model, Choices: []chatChoice{c}, Usage: u}
		}
		return completionResponse{ID: id, Object: object, Created: created, Model: g.model,
			Choices: []completionChoice{{Text: text, FinishReason: finish}}, Usage: u}
	}

	ts := generate.NewTextStream(s.tok, g.prompt)
	st := &stopper{stops: g.stops}
	var text []byte
	n := 0
	var finish string
	for finish == "" {
		tk := <-q.out
		if tk.err != nil {
			s.fail(w, sse, ctx, tk.err)
			return
		}
		n++
		piece := ts.Add(tk.id)
		if tk.finish != "" {
			piece += ts.Flush()
		}
		emit, hit := st.add(piece)
		switch {
		case hit:
			finish = finishStop
			cancel() // the scheduler retires the sequence at its next step
		case tk.finish != "":
			finish = tk.finish
			emit += st.flush()
		}
		text = append(text, emit...)
		if sse != nil && emit != "" {
			sse.send(chunk(emit, nil, nil))
		}
	}
	u := &usage{PromptTokens: len(g.prompt), CompletionTokens: n, TotalTokens: len(g.prompt) + n}
	if sse != nil {
		sse.send(chunk("", &finish, nil))
		if g.includeUsage {
			if chat {
				sse.send(chatResponse{ID: id, Object: object, Created: created, Model: g.model, Choices: []chatChoice{}, Usage: u})
			} else {
				sse.send(completionResponse{ID: id, Object: object, Created: created, Model: g.model, Choices: []completionChoice{}, Usage: u})
			}
		}
		sse.done()
		return
	}
	if chat {
		writeJSON(w, http.StatusOK, chatResponse{ID: id, Object: object, Created: created, Model: g.model,
			Choices: []chatChoice{{Message: &chatOut{Role: "assistant", Content: string(text)}, FinishReason: &finish}}, Usage: u})
		return
	}
	writeJSON(w, http.StatusOK, completionResponse{ID: id, Object: object, Created: created, Model: g.model,
		Choices: []completionChoice{{Text: string(text), FinishReason: &finish}}, Usage: u})
}

// fail reports a sequence that ended without finishing: its time ran out (504), its client went
// away (nothing to write) or the model failed (500).
func (s *Server) fail(w http.ResponseWriter, sse *sseWriter, ctx context.Context, err error) {
	e := &apiError{status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e = &apiError{status: http.StatusGatewayTimeout, Type: "timeout", Message: fmt.Sprintf("the request did not finish within %v (--request-timeout)", s.opt.Timeout)}
	case errors.Is(err, context.Canceled):
		s.log.Info("client went away; sequence retired")
		return
	case errors.Is(err, errShutdown):
		e = &apiError{status: http.StatusServiceUnavailable, Type: "server_error", Message: "the server is shutting down"}
	default:
		s.log.Error("generation failed", "err", err)
	}
	if sse != nil {
		sse.send(map[string]*apiError{"error": e})
		sse.done()
		return
	}
	writeError(w, e)
}

// sseWriter writes server-sent events.
type sseWriter struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sseWriter{w: w, f: f}
}

func (s *sseWriter) send(v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	if s.f != nil {
		s.f.Flush()
	}
}

func (s *sseWriter) done() {
	fmt.Fprint(s.w, "data: [DONE]\n\n")
	if s.f != nil {
		s.f.Flush()
	}
}
