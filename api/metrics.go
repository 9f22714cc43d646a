package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus collectors, on a registry of their
// own so that several servers (tests) do not collide.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	samples   *prometheus.CounterVec
	active    *prometheus.GaugeVec
	queued    *prometheus.GaugeVec
	rejected  *prometheus.CounterVec
	stepBatch *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wavenet_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wavenet_http_request_duration_seconds", Help: "HTTP request latency by method, route and status.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14), // 1 ms .. ~1.5 min
		}, []string{"method", "route", "status"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wavenet_generated_samples_total", Help: "Audio samples generated, by model.",
		}, []string{"model"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wavenet_active_streams", Help: "Streams currently generating, by model.",
		}, []string{"model"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wavenet_queue_depth", Help: "Requests waiting for a generation slot, by model.",
		}, []string{"model"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wavenet_rejected_total", Help: "Synthesis requests refused because slots and queue were full, by model.",
		}, []string{"model"}),
		stepBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wavenet_step_batch_size", Help: "Active streams advanced by one generator step, by model.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}, []string{"model"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.samples, m.active, m.queued, m.rejected, m.stepBatch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observeRequest(method, route string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(d.Seconds())
}

// Active, Queued, Rejected and Step implement synth.Metrics.

func (m *metrics) Active(model string, delta int) {
	m.active.WithLabelValues(model).Add(float64(delta))
}

func (m *metrics) Queued(model string, delta int) {
	m.queued.WithLabelValues(model).Add(float64(delta))
}

func (m *metrics) Rejected(model string) { m.rejected.WithLabelValues(model).Inc() }

func (m *metrics) Step(model string, streams int) {
	m.stepBatch.WithLabelValues(model).Observe(float64(streams))
	m.samples.WithLabelValues(model).Add(float64(streams))
}
