package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of their own (several servers may
// live in one process, as in the tests).
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec   // endpoint, code
	latency      *prometheus.HistogramVec // endpoint
	promptTokens *prometheus.CounterVec   // model
	genTokens    *prometheus.CounterVec   // model
	queueDepth   prometheus.Gauge
	running      prometheus.Gauge
	ttft         prometheus.Histogram
	queueSeconds prometheus.Histogram
	stepSeconds  prometheus.Histogram
	batchSize    prometheus.Histogram
}

func newMetrics() *metrics {
	lat := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moslora_requests_total",
			Help: "HTTP requests by endpoint and status code."}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "moslora_request_duration_seconds",
			Help: "Time from request to the last byte of the response.", Buckets: lat}, []string{"endpoint"}),
		promptTokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moslora_prompt_tokens_total",
			Help: "Prompt tokens prefilled, by model (base or adapter name)."}, []string{"model"}),
		genTokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moslora_generation_tokens_total",
			Help: "Tokens generated, by model (base or adapter name)."}, []string{"model"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "moslora_queue_depth",
			Help: "Requests waiting for a place in the batch."}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "moslora_running_sequences",
			Help: "Sequences in the batch."}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "moslora_time_to_first_token_seconds",
			Help: "Time from queueing to the first generated token.", Buckets: lat}),
		queueSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "moslora_queue_seconds",
			Help: "Time a request waited in the queue.", Buckets: lat}),
		stepSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "moslora_step_seconds",
			Help: "Duration of one batched forward step.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "moslora_batch_size",
			Help: "Sequences per forward step.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.promptTokens, m.genTokens, m.queueDepth, m.running,
		m.ttft, m.queueSeconds, m.stepSeconds, m.batchSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
