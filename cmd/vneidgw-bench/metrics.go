package main

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"
)

// histogram is the cumulative buckets of one metric summed over its labels.
type histogram struct {
	bounds []float64
	counts []uint64 // cumulative
	total  uint64
}

// metricFamilies is one scrape of the child's /metrics.
type metricFamilies map[string]*dto.MetricFamily

// scrapeMetrics reads the child's /metrics once.
func scrapeMetrics(hc *fasthttp.HostClient) (metricFamilies, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + hc.Addr + "/metrics")
	if err := hc.Do(req, resp); err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(resp.Body()))
}

// scrapeHistogram reads name from the child's /metrics, summing the series
// whose "kind" label is kind ("" = all).
func scrapeHistogram(hc *fasthttp.HostClient, name, kind string) (histogram, error) {
	mfs, err := scrapeMetrics(hc)
	if err != nil {
		return histogram{}, err
	}
	return mfs.histogram(name, kind)
}

// histogram sums the series of histogram name whose "kind" label is kind
// ("" = all; "class/phase" selects by those two labels).
func (mfs metricFamilies) histogram(name, kind string) (histogram, error) {
	mf, ok := mfs[name]
	if !ok || mf.GetType() != dto.MetricType_HISTOGRAM {
		return histogram{}, fmt.Errorf("metric %s not found", name)
	}
	var h histogram
	for _, m := range mf.GetMetric() {
		if class, phase, ok := strings.Cut(kind, "/"); ok {
			if !hasLabel(m, "class", class) || !hasLabel(m, "phase", phase) {
				continue
			}
		} else if kind != "" && !hasLabel(m, "kind", kind) && !hasLabel(m, "class", kind) {
			continue
		}
		hb := m.GetHistogram()
		if h.bounds == nil {
			for _, b := range hb.GetBucket() {
				h.bounds = append(h.bounds, b.GetUpperBound())
			}
			h.counts = make([]uint64, len(h.bounds))
		}
		for i, b := range hb.GetBucket() {
			if i < len(h.counts) {
				h.counts[i] += b.GetCumulativeCount()
			}
		}
		h.total += hb.GetSampleCount()
	}
	return h, nil
}

// sub returns h - before (the observations made between two scrapes).
func (h histogram) sub(before histogram) histogram {
	out := histogram{bounds: h.bounds, counts: make([]uint64, len(h.counts)), total: h.total - before.total}
	for i := range h.counts {
		out.counts[i] = h.counts[i]
		if i < len(before.counts) {
			out.counts[i] -= before.counts[i]
		}
	}
	return out
}

// quantile interpolates linearly inside the bucket holding q.
func (h histogram) quantile(q float64) float64 {
	if h.total == 0 {
		return math.NaN()
	}
	rank := q * float64(h.total)
	i := sort.Search(len(h.counts), func(i int) bool { return float64(h.counts[i]) >= rank })
	if i == len(h.counts) {
		return math.Inf(1)
	}
	lo, prev := 0.0, uint64(0)
	if i > 0 {
		lo, prev = h.bounds[i-1], h.counts[i-1]
	}
	hi := h.bounds[i]
	n := h.counts[i] - prev
	if n == 0 {
		return hi
	}
	return lo + (hi-lo)*(rank-float64(prev))/float64(n)
}

// percentile of a sorted slice of latencies in seconds.
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// counter sums the series of counter name whose label is value (0 if
// absent).
func (mfs metricFamilies) counter(name, label, value string) float64 {
	var v float64
	for _, m := range mfs[name].GetMetric() {
		if hasLabel(m, label, value) {
			v += m.GetCounter().GetValue()
		}
	}
	return v
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}

// commitHists are the store's group-commit histograms at one moment.
type commitHists struct {
	dur, items, event, bulk, express, journal histogram
	expressPhases, eventPhases                [len(writePhases)]histogram
	// cacheHits, cacheMisses: the writer's message-record lookups.
	cacheHits, cacheMisses float64
	// hold and rtt: the gateway's unsettled-slot hold and submit round
	// trip, all operators.
	hold, rtt histogram
}

// writePhases are the phase labels of vneidgw_store_write_phase_seconds.
var writePhases = [...]string{"queue", "apply", "commit", "finish"}

// scrapeCommits reads them from one scrape (zero values if it fails).
func scrapeCommits(hc *fasthttp.HostClient) commitHists {
	mfs, _ := scrapeMetrics(hc)
	d, _ := mfs.histogram("vneidgw_store_commit_duration_seconds", "")
	n, _ := mfs.histogram("vneidgw_store_commit_batch_items", "")
	ev, _ := mfs.histogram("vneidgw_store_write_duration_seconds", "event")
	bk, _ := mfs.histogram("vneidgw_store_write_duration_seconds", "bulk")
	ex, _ := mfs.histogram("vneidgw_store_write_duration_seconds", "express")
	jn, _ := mfs.histogram("vneidgw_store_journal_sync_seconds", "")
	hold, _ := mfs.histogram("vneidgw_gateway_unsettled_hold_seconds", "")
	rtt, _ := mfs.histogram("vneidgw_gateway_submit_duration_seconds", "")
	h := commitHists{dur: d, items: n, event: ev, bulk: bk, express: ex, journal: jn, hold: hold, rtt: rtt}
	h.cacheHits = mfs.counter("vneidgw_store_message_cache_lookups_total", "result", "hit")
	h.cacheMisses = mfs.counter("vneidgw_store_message_cache_lookups_total", "result", "miss")
	for i, ph := range writePhases {
		h.expressPhases[i], _ = mfs.histogram("vneidgw_store_write_phase_seconds", "express/"+ph)
		h.eventPhases[i], _ = mfs.histogram("vneidgw_store_write_phase_seconds", "event/"+ph)
	}
	return h
}

// commitStats fills the phase's group-commit figures from two scrapes.
func (r *phaseResult) commitStats(before, after commitHists) {
	if after.dur.counts == nil || before.dur.counts == nil {
		return
	}
	d, n := after.dur.sub(before.dur), after.items.sub(before.items)
	r.commits = d.total
	r.commitP50, r.commitP99 = d.quantile(0.5), d.quantile(0.99)
	r.batchP50 = n.quantile(0.5)
	r.cacheHits, r.cacheMisses = after.cacheHits-before.cacheHits, after.cacheMisses-before.cacheMisses
	if after.event.counts != nil && before.event.counts != nil {
		ev, bk := after.event.sub(before.event), after.bulk.sub(before.bulk)
		r.eventP50, r.eventP99 = ev.quantile(0.5), ev.quantile(0.99)
		r.bulkP50, r.bulkP99 = bk.quantile(0.5), bk.quantile(0.99)
	}
	if after.journal.counts != nil && before.journal.counts != nil {
		if jn := after.journal.sub(before.journal); jn.total > 0 {
			r.journalWrites = jn.total
			r.journalP50, r.journalP99 = jn.quantile(0.5), jn.quantile(0.99)
		}
	}
	r.eventPhaseP50 = phaseQuantiles(before.eventPhases, after.eventPhases, 0.5)
	r.holdP50, r.holdP99 = p50p99(before.hold, after.hold)
	r.rttP50, r.rttP99 = p50p99(before.rtt, after.rtt)
	if after.express.counts != nil && before.express.counts != nil {
		if ex := after.express.sub(before.express); ex.total > 0 {
			r.expressP50, r.expressP99 = ex.quantile(0.5), ex.quantile(0.99)
		}
		r.expressPhaseP99 = phaseQuantiles(before.expressPhases, after.expressPhases, 0.99)
	}
}

// p50p99 returns the median and 99th percentile of what a histogram saw
// between two scrapes (0, 0 when a scrape lacks it or it saw nothing).
func p50p99(before, after histogram) (float64, float64) {
	if after.counts == nil || before.counts == nil {
		return 0, 0
	}
	h := after.sub(before)
	if h.total == 0 {
		return 0, 0
	}
	return h.quantile(0.5), h.quantile(0.99)
}

// phaseQuantiles returns the q-quantile of each write phase between two
// scrapes (0 for a phase a scrape lacks or that saw nothing).
func phaseQuantiles(before, after [len(writePhases)]histogram, q float64) (out [len(writePhases)]float64) {
	for i := range writePhases {
		a, b := after[i], before[i]
		if a.counts == nil || b.counts == nil {
			continue
		}
		if ph := a.sub(b); ph.total > 0 {
			out[i] = ph.quantile(q)
		}
	}
	return out
}
