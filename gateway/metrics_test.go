package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"vneidgw/core"
)

// Every metric passes promlint, is named vneidgw_gateway_*, and the
// counters move under traffic.
func TestMetrics(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	reg := prometheus.NewPedanticRegistry()
	g, err := New(oneBind(p, nil), q, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(oneBind(p, nil), q, testLogger(t), reg); err == nil {
		t.Fatal("second registration on the same registry accepted")
	}
	q.put(newMsg("m1", "viettel", core.KindNotice, "hello"))
	startGateway(t, g)
	c := p.accept(t)
	s, _ := c.submit()
	c.respond(s, StatusOK, "1")
	c.write(appendEmpty(nil, cmdDataSM, 0, 77))
	c.next()
	q.waitDone(t, 1, 5*time.Second)
	// The slot is freed (and its hold observed) just after the record.
	var mfs []*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if mfs, err = reg.Gather(); err != nil {
			t.Fatal(err)
		}
		if metricValue(mfs, "vneidgw_gateway_unsettled_hold_seconds", "") == 1 || time.Now().After(deadline) {
			break
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("promlint: %s: %s", pr.Metric, pr.Text)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "vneidgw_gateway_") {
			t.Errorf("metric %s", mf.GetName())
		}
	}
	for _, tc := range []struct {
		name, label string
		want        float64
	}{
		{"vneidgw_gateway_submits_total", resultOK, 1},
		{"vneidgw_gateway_parts_submitted_total", "", 1},
		{"vneidgw_gateway_generic_nacks_sent_total", "", 1},
		{"vneidgw_gateway_binds_up", "", 1},
		{"vneidgw_gateway_submit_duration_seconds", "", 1},
		{"vneidgw_gateway_unsettled_hold_seconds", "", 1},
	} {
		if v := metricValue(mfs, tc.name, tc.label); v != tc.want {
			t.Errorf("%s{%s} = %v, want %v", tc.name, tc.label, v, tc.want)
		}
	}
}

// metricValue sums the samples of a counter or gauge family (a
// histogram's: its observation counts), optionally
// only those having a label with value label.
func metricValue(mfs []*dto.MetricFamily, name, label string) float64 {
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					ok = true
				}
			}
			if !ok {
				continue
			}
			if m.Counter != nil {
				sum += m.GetCounter().GetValue()
			}
			if m.Gauge != nil {
				sum += m.GetGauge().GetValue()
			}
			if m.Histogram != nil {
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}
