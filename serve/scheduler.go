package serve

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/model"
)

// Finish reasons (OpenAI's finish_reason).
const (
	finishStop   = "stop"   // an end-of-sequence id (or, in the handler, a stop string)
	finishLength = "length" // max_tokens or the cache's capacity
)

// token is one event of a sequence: a generated id, and with finish set the last one; err ends a
// sequence that could not finish.
type token struct {
	id     int
	finish string
	err    error
}

// seq is one request in the scheduler.
type seq struct {
	ctx     context.Context
	prompt  []int
	maxNew  int
	stopIDs []int
	sampler *generate.Sampler
	deltas  model.Deltas // nil: the base model
	model   string       // for metrics
	out     chan token   // buffered for every event, so the scheduler never blocks on a handler

	enqueued time.Time
	kc       *model.KVCache
	n        int // tokens generated
	last     int // the last generated id
}

// errQueueFull is returned by submit when the queue holds MaxQueue requests.
var errQueueFull = errors.New("queue full")

// errShutdown is returned by submit once the server is shutting down.
var errShutdown = errors.New("shutting down")

// scheduler runs the continuous batching loop on its own goroutine.
type scheduler struct {
	m        *model.Model
	bt       *model.Batcher
	maxBatch int
	queue    chan *seq
	metrics  *metrics

	mu       sync.Mutex
	closed   bool
	running  int // sequences in the batch (for tests and /health)
	stop     chan struct{}
	finished chan struct{}
}

func newScheduler(m *model.Model, maxBatch, maxQueue int, mt *metrics) *scheduler {
	s := &scheduler{m: m, bt: m.NewBatcher(), maxBatch: maxBatch, queue: make(chan *seq, maxQueue), metrics: mt,
		stop: make(chan struct{}), finished: make(chan struct{})}
	go s.loop()
	return s
}

// submit queues q, or fails at once with errQueueFull or errShutdown.
func (s *scheduler) submit(q *seq) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errShutdown
	}
	q.out = make(chan token, q.maxNew+1)
	q.enqueued = time.Now()
	select {
	case s.queue <- q:
		s.metrics.queueDepth.Set(float64(len(s.queue)))
		return nil
	default:
		return errQueueFull
	}
}

// Running is the number of sequences in the batch now.
func (s *scheduler) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// close refuses new requests, lets the loop finish what it holds and waits for it.
func (s *scheduler) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	<-s.finished
}

// loop is the scheduler: admit, step, sample, retire, until closed and empty.
func (s *scheduler) loop() {
	defer close(s.finished)
	var active []*seq
	var steps []model.Step
	for {
		if len(active) == 0 {
			select {
			case q := <-s.queue:
				active = s.admit(active, q)
			case <-s.stop:
				// Drain what was queued before the close, then stop.
				for {
					select {
					case q := <-s.queue:
						q.out <- token{err: errShutdown}
					default:
						return
					}
				}
			}
		}
	fill:
		for len(active) < s.maxBatch {
			select {
			case q := <-s.queue:
				active = s.admit(active, q)
			default:
				break fill
			}
		}
		s.metrics.queueDepth.Set(float64(len(s.queue)))
		// Retire cancelled sequences (client gone, timeout, stop string) before spending a step on them.
		active = slices.DeleteFunc(active, func(q *seq) bool {
			if err := q.ctx.Err(); err != nil {
				q.out <- token{err: err}
				return true
			}
			return false
		})
		s.setRunning(len(active))
		if len(active) == 0 {
			continue
		}
		steps = steps[:0]
		for _, q := range active {
			ids := q.prompt
			if q.kc.Len > 0 {
				ids = []int{q.last}
			}
			steps = append(steps, model.Step{IDs: ids, Cache: q.kc, Deltas: q.deltas})
		}
		t0 := time.Now()
		logits, err := s.bt.Step(steps)
		s.metrics.stepSeconds.Observe(time.Since(t0).Seconds())
		s.metrics.batchSize.Observe(float64(len(steps)))
		if err != nil {
			for _, q := range active {
				q.out <- token{err: err}
			}
			active = active[:0]
			s.setRunning(0)
			continue
		}
		V := s.m.Config.VocabSize
		keep := active[:0]
		for i, q := range active {
			if q.n == 0 {
				s.metrics.ttft.Observe(time.Since(q.enqueued).Seconds())
				s.metrics.promptTokens.WithLabelValues(q.model).Add(float64(len(q.prompt)))
			}
			id := q.sampler.Next(logits[i*V : (i+1)*V])
			q.n++
			q.last = id
			s.metrics.genTokens.WithLabelValues(q.model).Inc()
			tk := token{id: id}
			switch {
			case slices.Contains(q.stopIDs, id):
				tk.finish = finishStop
			case q.n >= q.maxNew || q.kc.Len >= q.kc.Cap:
				tk.finish = finishLength
			}
			q.out <- tk
			if tk.finish == "" {
				keep = append(keep, q)
			}
		}
		clear(active[len(keep):])
		active = keep
		s.setRunning(len(active))
	}
}

// admit starts q (a fresh KV cache for its prompt and budget) unless it was cancelled in the queue.
func (s *scheduler) admit(active []*seq, q *seq) []*seq {
	if err := q.ctx.Err(); err != nil {
		q.out <- token{err: err}
		return active
	}
	s.metrics.queueSeconds.Observe(time.Since(q.enqueued).Seconds())
	q.kc = s.m.NewKVCache(len(q.prompt) + q.maxNew)
	return append(active, q)
}

func (s *scheduler) setRunning(n int) {
	s.mu.Lock()
	s.running = n
	s.mu.Unlock()
	s.metrics.running.Set(float64(n))
}
