package web

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/rs/zerolog"
)

func TestMetricsLint(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	if _, err := NewWebhookSender(WebhookConfig{Secret: "x"}, newMemStore(), zerolog.Nop(), e.reg); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/healthz", "", nil)
	e.do("POST", "/api/v1/approvals", ndjsonType, validBody(t, 1, 2))
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"vneidgw_http_requests_total", "vneidgw_http_request_duration_seconds",
		"vneidgw_http_approval_lines_total", "vneidgw_webhook_pending_reports", "vneidgw_webhook_delivery_delay_seconds"} {
		if !names[want] {
			t.Errorf("metric %s not registered", want)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "vneidgw_") {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}

func TestNewRegistersOnce(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	// A second server on the same registry is a wiring bug: New says so.
	if _, err := New(Config{}, Deps{Messages: e.msgs, Keys: e.store, Registerer: e.reg}); err == nil {
		t.Fatal("duplicate registration accepted")
	}
	if _, err := New(Config{}, Deps{Keys: e.store}); err == nil {
		t.Fatal("nil Messages accepted")
	}
	if _, err := New(Config{}, Deps{Messages: e.msgs}); err == nil {
		t.Fatal("nil Keys accepted")
	}
}
