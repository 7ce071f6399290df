package smscsim

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the simulator's Prometheus series. They exist (and count)
// whether or not a Registerer was given.
type metrics struct {
	submits   *prometheus.CounterVec
	accepted  prometheus.Counter
	throttled prometheus.Counter
	queueFull prometheus.Counter
	rejected  prometheus.Counter
	dlrsSent  prometheus.Counter
	bound     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		submits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vneidgw_smscsim_submits_total",
			Help: "submit_sm PDUs received by the SMSC simulator, by outcome.",
		}, []string{"result"}),
		dlrsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vneidgw_smscsim_dlrs_sent_total",
			Help: "Delivery receipts (deliver_sm) sent by the SMSC simulator, retransmissions included.",
		}),
		bound: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vneidgw_smscsim_binds_bound",
			Help: "Client binds currently bound to the SMSC simulator.",
		}),
	}
	m.accepted = m.submits.WithLabelValues("accepted")
	m.throttled = m.submits.WithLabelValues("throttled")
	m.queueFull = m.submits.WithLabelValues("queue_full")
	m.rejected = m.submits.WithLabelValues("rejected")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.submits, m.dlrsSent, m.bound} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
