package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vneidgw/core"
	"vneidgw/gateway/smscsim"
)

// TestEndToEndUnderFaults runs approvals through the whole system while the
// SMSC throttles 20% of submits, answers 5% with queue-full, sends 30% of
// the receipts before the submit response, writes receipt ids in decimal
// (responses in hex), slips in unknown PDUs, and drops every connection
// part-way. Every approval must still end delivered, reported once as such,
// with duplicates at the SMSC bounded by the windows.
func TestEndToEndUnderFaults(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	const binds, window = 6, 64 + core.MaxParts // the window plus the OTP lane's own slots
	dir := t.TempDir()
	sim := startSim(t, smscsim.Config{IDFormat: "hex", DLRIDFormat: "decimal", Faults: smscsim.Faults{
		ThrottleShare: 0.2, QueueFullShare: 0.05, DLRBeforeResp: 0.3, UnknownPDUEvery: 97,
	}})
	sink := &reportSink{secret: "fault-secret", final: map[string]string{}}
	hook := httptest.NewServer(sink)
	defer hook.Close()
	cfgFile := writeConfig(t, dir, sim.Addr(), fmt.Sprintf("webhook:\n  url: %s\n  secret: %s\n", hook.URL, sink.secret))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var keyOut syncBuffer
	if code := run(ctx, []string{"apikey", "create", "--name", "faults", "--data-dir", filepath.Join(dir, "data")}, &keyOut, io.Discard, os.Getenv); code != 0 {
		t.Fatalf("apikey create: %s", keyOut.String())
	}
	lines := strings.Split(strings.TrimSpace(keyOut.String()), "\n")
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfgFile}, &out, &errOut, func(string) string { return "" })
	}()
	waitFor(t, 30*time.Second, "serve to listen", func() (bool, string) { return listenAddr(&out) != "", errOut.String() })
	a := api{base: "http://" + listenAddr(&out), token: lines[len(lines)-1], c: &http.Client{Timeout: time.Minute}}

	var body strings.Builder
	phones := make([]string, n)
	for i := 0; i < n; i++ {
		line, phone, _ := approval("fault", i)
		body.WriteString(line + "\n")
		phones[i] = phone
	}
	if code, resp := a.do(t, "POST", "/api/v1/approvals", "application/x-ndjson", []byte(body.String()), nil); code != 202 {
		t.Fatalf("approvals: %d %.300s", code, resp)
	}
	waitFor(t, time.Minute, "a third of the parts at the SMSC", func() (bool, string) {
		return sim.Stats().Parts >= uint64(2*n/3), fmt.Sprintf("%+v", sim.Stats())
	})
	sim.DropConnections()

	waitFor(t, 3*time.Minute, "a delivered report for every approval", func() (bool, string) {
		final, _ := sink.totals()
		return sink.count("delivered") == n, fmt.Sprintf("%d delivered reports (%d final in all); sim %+v", sink.count("delivered"), final, sim.Stats())
	})
	missing := 0
	for _, ph := range phones {
		if len(sim.Inbox(ph)) == 0 {
			missing++
		}
	}
	st := sim.Stats()
	t.Logf("simulator: %+v", st)
	if missing != 0 {
		t.Fatalf("%d phones got nothing", missing)
	}
	if st.Throttled == 0 || st.Binds <= binds {
		t.Fatalf("the faults did not happen: %+v", st)
	}
	if st.Duplicates > binds*window {
		t.Fatalf("%d duplicate parts; at most the windows (%d) may be resent after the drop", st.Duplicates, binds*window)
	}
	if _, bad := sink.totals(); bad != 0 {
		t.Fatalf("%d report batches with a bad signature", bad)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
