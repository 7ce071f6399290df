package main

import (
	"fmt"
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
	sim := startSim(t, smscsim.Config{IDFormat: "hex", DLRIDFormat: "decimal", Faults: smscsim.Faults{
		ThrottleShare: 0.2, QueueFullShare: 0.05, DLRBeforeResp: 0.3, UnknownPDUEvery: 97,
	}})
	p := serveInProcess(t, sim.Addr(), "fault-secret")
	a, sink := p.api, p.sink

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
	p.shutdown(t)
}
