package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus collectors.
type metrics struct {
	bindsUp        *prometheus.GaugeVec     // operator
	bindUp         *prometheus.GaugeVec     // operator, bind
	submits        *prometheus.CounterVec   // operator, result
	partsSubmitted *prometheus.CounterVec   // operator
	submitDuration *prometheus.HistogramVec // operator
	acceptToSubmit *prometheus.HistogramVec // operator
	slotHold       *prometheus.HistogramVec // operator
	dlrs           *prometheus.CounterVec   // operator, status
	windowInUse    *prometheus.GaugeVec     // operator, bind
	genericNacks   *prometheus.CounterVec   // operator
	reconnects     *prometheus.CounterVec   // operator, bind
	ussd           *prometheus.CounterVec   // operator, result
}

// Submit results (label values of vneidgw_gateway_submits_total).
const (
	resultOK        = "ok"
	resultThrottled = "throttled"
	resultRetry     = "retry"
	resultRejected  = "rejected"
	resultUnknown   = "unknown"
	resultLate      = "late"
	resultExpired   = "expired"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		bindsUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vneidgw_gateway_binds_up", Help: "SMPP binds currently bound, per operator.",
		}, []string{"operator"}),
		bindUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vneidgw_gateway_bind_up", Help: "1 when the bind is bound, 0 otherwise.",
		}, []string{"operator", "bind"}),
		submits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_gateway_submits_total", Help: "submit_sm outcomes per part, by result.",
		}, []string{"operator", "result"}),
		partsSubmitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_gateway_parts_submitted_total", Help: "SMS parts accepted by an SMSC.",
		}, []string{"operator"}),
		submitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vneidgw_gateway_submit_duration_seconds", Help: "submit_sm to submit_sm_resp round trip.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"operator"}),
		slotHold: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vneidgw_gateway_unsettled_hold_seconds",
			Help:    "submit_sm sent to its outcome on disk, when the part's unsettled slot (one of the bind's window) is freed: a bind sends at most window / this parts per second.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"operator"}),
		acceptToSubmit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vneidgw_gateway_accept_to_submit_seconds", Help: "Message accepted to its last part accepted by the SMSC, by operator and message kind (otp, notice, approval).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"operator", "kind"}),
		dlrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_gateway_dlrs_total", Help: "Delivery receipts received, by status.",
		}, []string{"operator", "status"}),
		windowInUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vneidgw_gateway_window_in_use", Help: "Outstanding submit_sm on the bind.",
		}, []string{"operator", "bind"}),
		genericNacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_gateway_generic_nacks_sent_total", Help: "generic_nack sent for unhandled or malformed PDUs.",
		}, []string{"operator"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_gateway_reconnects_total", Help: "Connection attempts after the first, per bind.",
		}, []string{"operator", "bind"}),
		ussd: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_gateway_ussd_requests_total", Help: "USSD requests over SMPP, by result.",
		}, []string{"operator", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.bindsUp, m.bindUp, m.submits, m.partsSubmitted, m.submitDuration,
		m.acceptToSubmit, m.slotHold, m.dlrs, m.windowInUse, m.genericNacks, m.reconnects, m.ussd} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway metrics: %w", err)
		}
	}
	return m, nil
}
