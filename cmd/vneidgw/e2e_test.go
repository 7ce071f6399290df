package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/gateway/smscsim"
	"vneidgw/web"
)

// reportSink is a webhook receiver that checks signatures and collects
// final statuses by message id.
type reportSink struct {
	secret string
	mu     sync.Mutex
	final  map[string]string
	bad    int
}

func (s *reportSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !web.VerifySignature(s.secret, r.Header.Get("X-Vneidgw-Timestamp"), body, r.Header.Get("X-Vneidgw-Signature")) {
		s.mu.Lock()
		s.bad++
		s.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var batch struct {
		Reports []core.Report `json:"reports"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	for _, r := range batch.Reports {
		s.final[r.MessageID] = string(r.Status)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// totals returns how many messages have a final report and how many
// batches had a bad signature.
func (s *reportSink) totals() (final, bad int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.final), s.bad
}

func (s *reportSink) count(status string) (n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.final {
		if st == status {
			n++
		}
	}
	return n
}

func writeConfig(t *testing.T, dir, simAddr, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "http_addr: 127.0.0.1:0\ndata_dir: %s\nlog_level: warn\ndefault_route: viettel\nsecret_key: test-secret-test-secret-test-secret-00\n%s\noperators:\n", filepath.Join(dir, "data"), extra)
	for _, op := range []string{"viettel", "vinaphone", "mobifone", "vietnamobile", "gmobile", "itelecom"} {
		fmt.Fprintf(&b, "  - name: %s\n    binds:\n      - addr: %s\n        system_id: %s\n        password: pw\n", op, simAddr, op)
	}
	f := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func startSim(t *testing.T, cfg smscsim.Config) *smscsim.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Log = zerolog.Nop()
	sim, err := smscsim.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// TestEndToEndApprovals: 10,000 approvals in through the bulk API end as
// 10,000 DLR-confirmed deliveries at the simulator, with the exact approval
// text in two parts each, and a signed "delivered" report for every one.
func TestEndToEndApprovals(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	sim := startSim(t, smscsim.Config{})
	p := serveInProcess(t, sim.Addr(), "e2e-secret")
	a, sink := p.api, p.sink
	waitFor(t, 30*time.Second, "readyz", func() (bool, string) {
		code, body := a.do(t, "GET", "/readyz", "", nil, nil)
		return code == 200, string(body)
	})

	var body strings.Builder
	phones := make([]string, n)
	names := make([]string, n)
	for i := 0; i < n; i++ {
		line, phone, name := approval("e2e", i)
		body.WriteString(line + "\n")
		phones[i], names[i] = phone, name
	}
	code, resp := a.do(t, "POST", "/api/v1/approvals", "application/x-ndjson", []byte(body.String()), nil)
	if code != 202 {
		t.Fatalf("bulk approvals: %d %s", code, resp)
	}
	var bulk struct {
		Accepted int `json:"accepted"`
		Results  []struct {
			Line      int    `json:"line"`
			MessageID string `json:"message_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(resp, &bulk); err != nil || bulk.Accepted != n || len(bulk.Results) != n {
		t.Fatalf("bulk answer: accepted %d results %d err %v: %.500s", bulk.Accepted, len(bulk.Results), err, resp)
	}

	wctx, wcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer wcancel()
	if err := sim.WaitMessages(wctx, uint64(n)); err != nil {
		t.Fatalf("simulator got %+v: %v", sim.Stats(), err)
	}
	waitFor(t, 2*time.Minute, "a delivered report for every approval", func() (bool, string) {
		_, bad := sink.totals()
		return sink.count("delivered") == n, fmt.Sprintf("%d delivered reports, %d bad signatures, sim %+v", sink.count("delivered"), bad, sim.Stats())
	})

	st := sim.Stats()
	if st.Parts != uint64(2*n) || st.Duplicates != 0 {
		t.Errorf("simulator parts %d (want %d), duplicates %d (want 0)", st.Parts, 2*n, st.Duplicates)
	}
	for i := 0; i < n; i++ {
		inbox := sim.Inbox(phones[i])
		want := core.ApprovalText(names[i])
		if len(inbox) != 1 || inbox[0].Text != want || inbox[0].Parts != 2 || inbox[0].From != "VneID" {
			t.Fatalf("phone %s inbox %+v, want one 2-part message from VneID %q", phones[i], inbox, want)
		}
	}
	// Every hop of one message is visible through the API.
	var m core.Message
	if code := a.getJSON(t, "/api/v1/messages/"+bulk.Results[0].MessageID, &m); code != 200 {
		t.Fatalf("GET message: %d", code)
	}
	if m.Status != core.StatusDelivered || len(m.Parts) != 2 || m.Parts[0].SMSCID == "" {
		t.Fatalf("message %+v not delivered with SMSC ids", m)
	}
	seen := map[core.Status]bool{}
	for _, h := range m.History {
		seen[h.Status] = true
	}
	if !seen[core.StatusQueued] || !seen[core.StatusSubmitted] || !seen[core.StatusDelivered] {
		t.Fatalf("history lacks a hop: %+v", m.History)
	}
	// Every metric the running process exposes follows Prometheus naming.
	code, metrics := a.do(t, "GET", "/metrics", "", nil, nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	problems, err := promlint.New(bytes.NewReader(metrics)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "vneidgw_") {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	}
	for _, want := range []string{"vneidgw_gateway_accept_to_submit_seconds", "vneidgw_store_commit_duration_seconds", "vneidgw_http_request_duration_seconds", "vneidgw_build_info"} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// A repeat of the whole batch sends nothing new.
	code, resp = a.do(t, "POST", "/api/v1/approvals", "application/x-ndjson", []byte(body.String()), nil)
	var again struct {
		Duplicates int `json:"duplicates"`
	}
	json.Unmarshal(resp, &again)
	if code != 202 || again.Duplicates != n {
		t.Fatalf("repeat batch: %d, duplicates %d: %.300s", code, again.Duplicates, resp)
	}
	time.Sleep(300 * time.Millisecond)
	if got := sim.Stats().Messages; got != uint64(n) {
		t.Fatalf("repeat batch sent %d new messages", got-uint64(n))
	}
	if _, bad := sink.totals(); bad != 0 {
		t.Fatalf("%d webhook batches with a bad signature", bad)
	}

	p.shutdown(t)
}
