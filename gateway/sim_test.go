package gateway

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"vneidgw/core"
	"vneidgw/gateway/smscsim"
)

func startSim(t testing.TB, cfg smscsim.Config) *smscsim.Server {
	t.Helper()
	s, err := smscsim.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// putMessages queues n messages for op, alternating 1 and 2 parts, each to
// its own phone; it returns the number of parts.
func putMessages(q *memQueue, op, prefix string, n int) int {
	parts := 0
	for i := range n {
		m := newMsg(fmt.Sprintf("%s%06d", prefix, i), op, core.KindApproval, shortText(i))
		m.To = fmt.Sprintf("849%08d", i)
		m.ConcatRef = uint8(i)
		_, p := core.CountParts(m.Text)
		parts += p
		q.put(m)
	}
	return parts
}

func waitDLRs(t testing.TB, q *memQueue, n int, d time.Duration) {
	t.Helper()
	q.waitFor(t, d, fmt.Sprintf("%d DLRs", n), func(q *memQueue) bool { return q.countEvents(core.EventDLR) >= n })
}

func simConfig(sim *smscsim.Server, mut func(*BindConfig)) Config {
	return testConfig(map[string][]string{"viettel": {sim.Addr()}}, mut)
}

// 20% throttling (and some queue-full): every message is submitted exactly
// once, no part duplicated at the SMSC.
func TestSimThrottlingEveryMessageOnce(t *testing.T) {
	sim := startSim(t, smscsim.Config{Faults: smscsim.Faults{ThrottleShare: 0.2, QueueFullShare: 0.05}})
	q := newMemQueue()
	const n = 300
	parts := putMessages(q, "viettel", "t", n)
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.Window = 16 }), q)
	startGateway(t, g)
	q.waitDone(t, n, 20*time.Second)
	waitDLRs(t, q, parts, 20*time.Second)
	st := sim.Stats()
	if st.Duplicates != 0 || st.Messages != n || st.Parts != uint64(parts) || st.Throttled == 0 {
		t.Fatalf("sim stats %+v (parts %d)", st, parts)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.submittedBy) != parts {
		t.Fatalf("%d parts submitted, want %d", len(q.submittedBy), parts)
	}
	for k, c := range q.submittedBy {
		if c != 1 {
			t.Fatalf("%v submitted %d times", k, c)
		}
	}
	if q.retries == 0 {
		t.Fatal("no retries despite throttling")
	}
}

// Connections dropped under load: every lease ends, nothing is resent by
// the gateway, and duplicates at the SMSC stay within the window.
func TestSimReconnectUnderLoad(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	q := newMemQueue()
	const n, window = 600, 32
	parts := putMessages(q, "viettel", "r", n)
	cfg := testConfig(map[string][]string{"viettel": {sim.Addr(), sim.Addr()}}, func(b *BindConfig) {
		b.Window = window
		b.TPS = 1500
	})
	g := newTestGateway(t, cfg, q)
	startGateway(t, g)
	for _, at := range []uint64{100, 300} {
		q.waitFor(t, 10*time.Second, "progress", func(q *memQueue) bool { return len(q.submittedBy) >= int(at) })
		sim.DropConnections()
	}
	q.waitDone(t, n, 20*time.Second)
	st := sim.Stats()
	if st.Duplicates > 2*2*window {
		t.Fatalf("duplicates %d", st.Duplicates)
	}
	if st.Binds < 4 {
		t.Fatalf("binds %d: no reconnect happened", st.Binds)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	unknown := 0
	for _, e := range q.events {
		if e.Kind == core.EventUnknown {
			unknown++
		}
	}
	if len(q.submittedBy)+unknown != parts {
		t.Fatalf("submitted %d + unknown %d != parts %d", len(q.submittedBy), unknown, parts)
	}
	for k, c := range q.submittedBy {
		if c != 1 {
			t.Fatalf("%v submitted %d times", k, c)
		}
	}
	if unknown > 2*2*window {
		t.Fatalf("%d unknown parts", unknown)
	}
	t.Logf("parts %d, unknown %d, sim duplicates %d, binds %d", parts, unknown, st.Duplicates, st.Binds)
	if len(q.leased) != 0 {
		t.Fatalf("%d leases open", len(q.leased))
	}
}

// DLR ids are passed through as the SMSC wrote them (hex or decimal), also
// when the DLR comes before the submit_sm_resp or reuses its sequence number.
func TestSimDLRPassthrough(t *testing.T) {
	for _, tc := range []struct {
		name    string
		idf     string
		dlrIDF  string
		faults  smscsim.Faults
		tlvOnly bool
	}{
		{name: "hex", idf: "hex"},
		{name: "decimal", idf: "decimal"},
		{name: "hex resp, decimal dlr", idf: "hex", dlrIDF: "decimal"},
		{name: "dlr before resp", idf: "hex", faults: smscsim.Faults{DLRBeforeResp: 0.5}},
		{name: "dlr seq collides", idf: "decimal", faults: smscsim.Faults{DLRSeqCollide: true, ResponseDelay: 5 * time.Millisecond}},
		{name: "tlv only", idf: "hex", faults: smscsim.Faults{DLRTLVOnly: true, UndelivShare: 0.3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, smscsim.Config{IDFormat: tc.idf, DLRIDFormat: tc.dlrIDF, Faults: tc.faults})
			q := newMemQueue()
			const n = 40
			parts := putMessages(q, "viettel", "d", n)
			g := newTestGateway(t, simConfig(sim, nil), q)
			startGateway(t, g)
			q.waitDone(t, n, 10*time.Second)
			waitDLRs(t, q, parts, 10*time.Second)
			ids := map[string]bool{}
			for _, e := range q.eventsOf(core.EventSubmitted) {
				id := e.SMSCID
				if tc.dlrIDF == "decimal" && tc.idf == "hex" {
					v, err := strconv.ParseUint(id, 16, 64)
					if err != nil {
						t.Fatalf("hex id %q", id)
					}
					id = strconv.FormatUint(v, 10)
				}
				ids[id] = true
			}
			undeliv := 0
			for _, e := range q.eventsOf(core.EventDLR) {
				if !ids[e.SMSCID] || e.Operator != "viettel" || !e.Status.Final() || e.Phone == "" {
					t.Fatalf("dlr %+v does not match a submitted id", e)
				}
				if e.Status == core.StatusUndeliverable {
					undeliv++
				}
			}
			if tc.faults.UndelivShare > 0 && undeliv == 0 {
				t.Fatal("no undeliverable DLR")
			}
			if st := sim.Stats(); st.Binds != 1 || st.Duplicates != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// Unknown PDUs from the SMSC get generic_nack and never break the bind.
func TestSimUnknownPDUsKeepBind(t *testing.T) {
	sim := startSim(t, smscsim.Config{Faults: smscsim.Faults{UnknownPDUEvery: 3}})
	q := newMemQueue()
	const n = 60
	putMessages(q, "viettel", "u", n)
	g := newTestGateway(t, simConfig(sim, nil), q)
	startGateway(t, g)
	q.waitDone(t, n, 10*time.Second)
	if err := sim.WaitMessages(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	st := sim.Stats()
	if st.Binds != 1 || st.GenericNacksReceived < 20 || st.Messages != n {
		t.Fatalf("stats %+v", st)
	}
}

// No response: the part is unknown and never resent; the DLR settles it.
func TestSimNoResponseNeverResent(t *testing.T) {
	sim := startSim(t, smscsim.Config{Faults: smscsim.Faults{NoResponseShare: 0.3}})
	q := newMemQueue()
	const n = 40
	parts := putMessages(q, "viettel", "n", n)
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.ResponseTimeout = 200 * time.Millisecond }), q)
	startGateway(t, g)
	q.waitDone(t, n, 10*time.Second)
	waitDLRs(t, q, parts, 10*time.Second)
	st := sim.Stats()
	if st.Submits != uint64(parts) || st.Duplicates != 0 {
		t.Fatalf("stats %+v, parts %d", st, parts)
	}
	if len(q.eventsOf(core.EventUnknown)) == 0 {
		t.Fatal("no unknown part")
	}
}

// An OTP queued behind a long approval backlog goes out next.
func TestSimOTPOvertakesBacklog(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	q := newMemQueue()
	for i := range 150 {
		m := newMsg(fmt.Sprintf("a%03d", i), "viettel", core.KindApproval, "short approval "+strconv.Itoa(i))
		m.To = fmt.Sprintf("849%08d", i)
		q.put(m)
	}
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.TPS = 150 }), q)
	startGateway(t, g)
	q.waitFor(t, 5*time.Second, "some approvals", func(q *memQueue) bool { return len(q.submittedBy) >= 20 })
	q.put(otpMsg("otp", "viettel"))
	q.waitDone(t, 151, 10*time.Second)
	q.mu.Lock()
	defer q.mu.Unlock()
	pos, after := -1, 0
	for _, e := range q.events {
		if e.Kind != core.EventSubmitted {
			continue
		}
		if e.MessageID == "otp" {
			pos = 0
		} else if pos >= 0 {
			after++
		}
	}
	if pos < 0 || after < 80 {
		t.Fatalf("otp submitted with only %d approvals after it", after)
	}
}

// An operator whose binds are down, and an operator with no configuration,
// go out on the default route.
func TestSimFallbackRoute(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	_ = dead.Close()
	q := newMemQueue()
	putMessages(q, "mobifone", "mf", 20)
	putMessages(q, "itelecom", "it", 20)
	putMessages(q, "viettel", "vt", 20)
	cfg := testConfig(map[string][]string{"viettel": {sim.Addr()}, "mobifone": {deadAddr}}, nil)
	cfg.DefaultRoute = "viettel"
	g := newTestGateway(t, cfg, q)
	startGateway(t, g)
	q.waitDone(t, 60, 10*time.Second)
	for _, e := range q.eventsOf(core.EventSubmitted) {
		if e.Operator != "viettel" {
			t.Fatalf("event %+v", e)
		}
	}
	var down *BindStatus
	for _, b := range g.Binds() {
		if b.Operator == "mobifone" {
			down = &b
		}
	}
	if down == nil || down.State == StateBound || g.BindsUp() != 1 {
		t.Fatalf("binds %+v", g.Binds())
	}
}

// Without a default route an operator's messages wait for its own bind.
func TestSimNoFallbackWithoutDefaultRoute(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	q := newMemQueue()
	putMessages(q, "itelecom", "it", 5)
	g := newTestGateway(t, simConfig(sim, nil), q)
	startGateway(t, g)
	time.Sleep(400 * time.Millisecond)
	if st := sim.Stats(); st.Submits != 0 || q.leases != 0 {
		t.Fatalf("stats %+v leases %d", st, q.leases)
	}
}

// A message whose validity passed is expired, not sent.
func TestSimExpiredNotSent(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	q := newMemQueue()
	old := otpMsg("old", "viettel")
	old.CreatedAt = time.Now().Add(-time.Hour)
	q.put(old)
	fresh := otpMsg("fresh", "viettel")
	fresh.To = "84987654321"
	q.put(fresh)
	g := newTestGateway(t, simConfig(sim, nil), q)
	startGateway(t, g)
	q.waitDone(t, 2, 5*time.Second)
	if ev := q.eventsOf(core.EventExpired); len(ev) != 1 || ev[0].MessageID != "old" {
		t.Fatalf("expired %+v", ev)
	}
	if err := sim.WaitMessages(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if in := sim.Inbox("84912345678"); len(in) != 0 {
		t.Fatalf("expired message delivered: %+v", in)
	}
	in := sim.Inbox("84987654321")
	if len(in) != 1 || in[0].ValidityPeriod == "" || in[0].RegisteredDelivery != 1 || in[0].From != "VneID" {
		t.Fatalf("inbox %+v", in)
	}
}

// The TPS cap holds: the simulator's own cap is never hit.
func TestSimTPSCap(t *testing.T) {
	sim := startSim(t, smscsim.Config{Faults: smscsim.Faults{MaxTPS: 60}})
	q := newMemQueue()
	for i := range 45 {
		m := newMsg(fmt.Sprint("p", i), "viettel", core.KindNotice, "x"+strconv.Itoa(i))
		m.To = fmt.Sprintf("849%08d", i)
		q.put(m)
	}
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.TPS = 40 }), q)
	start := time.Now()
	startGateway(t, g)
	q.waitDone(t, 45, 10*time.Second)
	if el := time.Since(start); el < 800*time.Millisecond {
		t.Fatalf("45 parts at 40 TPS took %v", el)
	}
	if st := sim.Stats(); st.Throttled != 0 {
		t.Fatalf("throttled %d", st.Throttled)
	}
}

// USSD through the simulator: continue then end, same session.
func TestSimUSSD(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	q := newMemQueue()
	g := newTestGateway(t, simConfig(sim, nil), q)
	var mu sync.Mutex
	var seen []USSDInbound
	g.SetUSSDHandler(USSDHandlerFunc(func(ctx context.Context, in USSDInbound) (USSDReply, error) {
		mu.Lock()
		seen = append(seen, in)
		mu.Unlock()
		if in.Text == "*368#" || in.Text == "" {
			return USSDReply{Text: "VNeID\n1. Kich hoat\n2. Trang thai", Continue: true}, nil
		}
		return USSDReply{Text: "Ban da chon " + in.Text}, nil
	}))
	startGateway(t, g)
	deadline := time.Now().Add(5 * time.Second)
	for g.BindsUp() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx := t.Context()
	if err := sim.SendUSSD(ctx, smscsim.USSDRequest{Phone: "84912345678", ServiceCode: "*368#", Text: "*368#", SessionID: 4242, Op: 1}); err != nil {
		t.Fatal(err)
	}
	r := <-sim.USSDReplies()
	if r.Op != USSDOpContinue || r.SessionID != 4242 || r.Phone != "84912345678" || r.Text != "VNeID\n1. Kich hoat\n2. Trang thai" {
		t.Fatalf("reply %+v", r)
	}
	if err := sim.SendUSSD(ctx, smscsim.USSDRequest{Phone: "84912345678", ServiceCode: "*368#", Text: "1", SessionID: 4242, Op: 18}); err != nil {
		t.Fatal(err)
	}
	r = <-sim.USSDReplies()
	if r.Op != USSDOpEnd || r.SessionID != 4242 || r.Text != "Ban da chon 1" {
		t.Fatalf("reply %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[1].Op != 18 || seen[1].ServiceCode != "*368#" || seen[1].SessionID != 4242 {
		t.Fatalf("seen %+v", seen)
	}
}

// Shutdown under load: Run returns, every lease is ended (recorded or
// returned to the queue).
func TestSimShutdownEndsEveryLease(t *testing.T) {
	sim := startSim(t, smscsim.Config{Faults: smscsim.Faults{ResponseDelay: 20 * time.Millisecond}})
	q := newMemQueue()
	putMessages(q, "viettel", "s", 400)
	g := newTestGateway(t, simConfig(sim, nil), q)
	stop := startGateway(t, g)
	q.waitFor(t, 10*time.Second, "progress", func(q *memQueue) bool { return len(q.submittedBy) >= 50 })
	stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.leased) != 0 {
		t.Fatalf("%d leases still open after Run returned", len(q.leased))
	}
	deadline := time.Now().Add(3 * time.Second)
	for sim.Stats().BoundNow != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the simulator notices the close asynchronously
	}
	if st := sim.Stats(); st.Duplicates != 0 || st.BoundNow != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// The SMSC closing the connection on a submit it never answers: that part
// is unknown, the rest goes out after the reconnect.
func TestSimDropAfterSubmits(t *testing.T) {
	sim := startSim(t, smscsim.Config{Faults: smscsim.Faults{DropAfterSubmits: 50}})
	q := newMemQueue()
	const n = 120
	parts := putMessages(q, "viettel", "x", n)
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.Window = 8 }), q)
	startGateway(t, g)
	q.waitDone(t, n, 20*time.Second)
	st := sim.Stats()
	unknown := len(q.eventsOf(core.EventUnknown))
	q.mu.Lock()
	submitted := len(q.submittedBy)
	q.mu.Unlock()
	if submitted+unknown != parts || unknown == 0 || st.Binds < 2 || st.Duplicates > uint64(8*st.Binds) {
		t.Fatalf("submitted %d unknown %d parts %d stats %+v", submitted, unknown, parts, st)
	}
	t.Logf("parts %d, unknown %d, stats %+v", parts, unknown, st)
}

// With ResendOnDrop, parts outstanding at a drop are resent: every message
// arrives, duplicates stay within the window per drop.
func TestSimDropResendOnDrop(t *testing.T) {
	sim := startSim(t, smscsim.Config{Faults: smscsim.Faults{DropAfterSubmits: 50}})
	q := newMemQueue()
	const n, window = 120, 8
	putMessages(q, "viettel", "y", n)
	cfg := simConfig(sim, func(b *BindConfig) { b.Window = window })
	cfg.ResendOnDrop = true
	g := newTestGateway(t, cfg, q)
	startGateway(t, g)
	q.waitDone(t, n, 20*time.Second)
	if err := sim.WaitMessages(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	st := sim.Stats()
	if len(q.eventsOf(core.EventUnknown)) != 0 || st.Duplicates > uint64(window*st.Binds) {
		t.Fatalf("unknown %d stats %+v", len(q.eventsOf(core.EventUnknown)), st)
	}
	t.Logf("stats %+v", st)
}

// TestWindowOneSendsMultipartMessages: with a window of 1, multi-part
// messages still go out (a message's parts free their unsettled slots
// together, so the bound must hold a whole message, not just the window).
func TestWindowOneSendsMultipartMessages(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	q := newMemQueue()
	const n = 40
	parts := putMessages(q, "viettel", "w", n)
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.Window = 1 }), q)
	startGateway(t, g)
	q.waitDone(t, n, 20*time.Second)
	waitDLRs(t, q, parts, 20*time.Second)
	if st := sim.Stats(); st.Parts != uint64(parts) || st.Duplicates != 0 {
		t.Fatalf("sim stats %+v (parts %d)", st, parts)
	}
}

// TestOTPExpressWhileApprovalsWait: the approvals' outcomes cannot be
// recorded (a slow store), so the main sender has used up its unsettled
// slots; an OTP still reaches the SMSC through the bind's express sender.
func TestOTPExpressWhileApprovalsWait(t *testing.T) {
	sim := startSim(t, smscsim.Config{})
	q := newMemQueue()
	q.holdApprovals = make(chan struct{})
	for i := range 100 {
		m := newMsg(fmt.Sprintf("a%03d", i), "viettel", core.KindApproval, "short approval "+strconv.Itoa(i))
		m.To = fmt.Sprintf("849%08d", i)
		q.put(m)
	}
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.Window = 16 }), q)
	startGateway(t, g)
	waitUntilSim(t, sim, 16)
	time.Sleep(100 * time.Millisecond)
	if got := sim.Stats().Parts; got > 16 {
		t.Fatalf("%d parts sent while their outcomes could not be recorded (window 16)", got)
	}
	otp := otpMsg("otp-1", "viettel")
	otp.To = "84987654321"
	q.put(otp)
	deadline := time.Now().Add(5 * time.Second)
	for len(sim.Inbox("84987654321")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the OTP waited behind approvals whose outcomes were not recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(q.holdApprovals)
	q.waitDone(t, 101, 20*time.Second)
}

func waitUntilSim(t *testing.T, sim *smscsim.Server, parts uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sim.Stats().Parts < parts {
		if time.Now().After(deadline) {
			t.Fatalf("simulator has %d parts, want %d", sim.Stats().Parts, parts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
