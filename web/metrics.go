package web

import (
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the request counters and latencies of the Server.
type httpMetrics struct {
	requests *prometheus.CounterVec   // route, code
	duration *prometheus.HistogramVec // route
	ndjson   *prometheus.CounterVec   // result: accepted, duplicate, rejected
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vneidgw_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		ndjson: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_http_approval_lines_total",
			Help: "Approval lines received on POST /api/v1/approvals, by result (accepted, duplicate, rejected).",
		}, []string{"result"}),
	}
	if err := register(reg, m.requests, m.duration, m.ndjson); err != nil {
		return nil, err
	}
	return m, nil
}

// webhookMetrics observe the WebhookSender.
type webhookMetrics struct {
	sent    *prometheus.CounterVec   // target: webhook, callback
	failed  *prometheus.CounterVec   // target
	post    *prometheus.HistogramVec // target
	delay   prometheus.Histogram
	pending prometheus.Gauge
}

func newWebhookMetrics(reg prometheus.Registerer) (*webhookMetrics, error) {
	m := &webhookMetrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_webhook_reports_sent_total",
			Help: "Reports accepted (2xx) by a receiver, by target kind (webhook or callback).",
		}, []string{"target"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_webhook_reports_failed_total",
			Help: "Reports a receiver did not accept on one attempt (they are retried), by target kind.",
		}, []string{"target"}),
		post: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vneidgw_webhook_post_duration_seconds",
			Help:    "Round trip of one webhook POST, by target kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"target"}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vneidgw_webhook_delivery_delay_seconds",
			Help:    "Time from a report's final status to its acknowledgement by every receiver.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vneidgw_webhook_pending_reports",
			Help: "Reports taken from the outbox and not yet acknowledged or rescheduled.",
		}),
	}
	if err := register(reg, m.sent, m.failed, m.post, m.delay, m.pending); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers cs on reg; a nil reg leaves the metrics unregistered
// (they still count, nobody scrapes them).
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
