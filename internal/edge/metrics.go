package edge

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the edge's Prometheus instruments, one pair for every
// surface.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the instruments with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_http_requests_total",
			Help: "Requests by surface (sts, authorize, exchange, signin), operation (the STS action or event name) and result code (OK or the wire's error code).",
		}, []string{"surface", "operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyless_http_request_duration_seconds",
			Help:    "Time from receiving a request to writing its response, by surface and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"surface", "operation"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *Metrics) observe(surface, operation, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(surface, operation, code).Inc()
	m.latency.WithLabelValues(surface, operation).Observe(d.Seconds())
}
