package store

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"vneidgw/core"
)

// metrics are the store's Prometheus collectors.
type metrics struct {
	batchItems    prometheus.Histogram
	commitSeconds prometheus.Histogram
	writeSeconds  [3]prometheus.Observer // by opClass
	// writePhase splits writeSeconds, by opClass and writePhase.
	writePhase   [3][numWritePhases]prometheus.Observer
	commitErrors prometheus.Counter
	backlog      *prometheus.GaugeVec
	reports      prometheus.Gauge
	trims        prometheus.Counter
	journalSync  prometheus.Histogram
	// cacheHits and cacheMisses count the writer's message-record lookups
	// (record.go): a miss reads the record from Badger.
	cacheHits, cacheMisses prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, kf *keyFilter) (*metrics, error) {
	m := &metrics{
		batchItems: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "vneidgw", Subsystem: "store", Name: "commit_batch_items",
			Help:    "Items (messages, events, keys) grouped into one commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "vneidgw", Subsystem: "store", Name: "commit_duration_seconds",
			Help:    "Time to apply and commit (fsync) one group of writes.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vneidgw", Subsystem: "store", Name: "commit_errors_total",
			Help: "Group commits that failed.",
		}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "vneidgw", Subsystem: "store", Name: "queue_backlog_messages",
			Help: "Queued messages not yet handed to a sender, per operator and priority.",
		}, []string{"operator", "priority"}),
		reports: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "vneidgw", Subsystem: "store", Name: "outbox_pending_reports",
			Help: "Final-status reports not yet acknowledged by the upstream receiver.",
		}),
		trims: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vneidgw", Subsystem: "store", Name: "mapped_pageouts_total",
			Help: "Times the store's mapped files were paged out to keep the file-backed RSS under store trim_above.",
		}),
		journalSync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "vneidgw", Subsystem: "store", Name: "journal_sync_seconds",
			Help:    "Time to write express batches synchronously (an OTP's accept) to the express journal, after which their SMS may leave.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
	}
	writes := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "vneidgw", Subsystem: "store", Name: "write_duration_seconds",
		Help:    "Time from a write request (bulk: accepts, keys; event: message events, report acks; express: an OTP's accept) to its answer, queueing in the writer included.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"class"})
	phases := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "vneidgw", Subsystem: "store", Name: "write_phase_seconds",
		Help: "write_duration_seconds by phase: queue (request until the writer takes it), apply (until its batch goes to Badger), " +
			"commit (until Badger has it on disk), finish (until it is answered: earlier batches and effects first).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"class", "phase"})
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "vneidgw", Subsystem: "store", Name: "message_cache_lookups_total",
		Help: "Message records the writer looked up for an event, by result: hit (in its cache) or miss (read from the database).",
	}, []string{"result"})
	m.cacheHits, m.cacheMisses = lookups.WithLabelValues("hit"), lookups.WithLabelValues("miss")
	for c, name := range []string{"bulk", "event", "express"} {
		m.writeSeconds[c] = writes.WithLabelValues(name)
		for p, phase := range []string{"queue", "apply", "commit", "finish"} {
			m.writePhase[c][p] = phases.WithLabelValues(name, phase)
		}
	}
	filterBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "vneidgw", Subsystem: "store", Name: "key_filter_bytes",
		Help: "Memory of the filter of existing application, idempotency, account and phone keys (at most store key_filter_limit).",
	}, func() float64 { return float64(kf.bytes()) })
	filterActive := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "vneidgw", Subsystem: "store", Name: "key_filter_active",
		Help: "1 while the key filter answers; 0 while it loads at start or once it outgrew its limit (every lookup then reads the database).",
	}, func() float64 {
		if kf.ready.Load() && !kf.off.Load() {
			return 1
		}
		return 0
	})
	filterChecks := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "vneidgw", Subsystem: "store", Name: "key_filter_new_keys_total",
		Help: "Lookups the key filter answered \"certainly new\", so the database was not read.",
	}, func() float64 { return float64(kf.skipped.Load()) })
	if reg != nil {
		for _, c := range []prometheus.Collector{writes, phases, m.batchItems, m.commitSeconds, m.commitErrors, m.backlog, m.reports, m.trims, m.journalSync, lookups,
			filterBytes, filterActive, filterChecks} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("store: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// The phases of a write (metrics.writePhase).
const (
	phaseQueue = iota
	phaseApply
	phaseCommit
	phaseFinish
	numWritePhases
)

func priorityName(p core.Priority) string {
	switch p {
	case core.PriorityOTP:
		return "otp"
	case core.PriorityNotice:
		return "notice"
	case core.PriorityApproval:
		return "approval"
	}
	return "other"
}
