package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

const testSecret = "s3cret-for-tests"

// receiver is a webhook receiver on 127.0.0.1:0.
type receiver struct {
	url string

	mu       sync.Mutex
	posts    []receivedPost
	failLeft int           // answer 500 to this many POSTs first
	hold     chan struct{} // if set, each POST waits on it
	inFlight atomic.Int32
	maxIn    atomic.Int32
}

type receivedPost struct {
	path    string
	reports []map[string]any
	sigOK   bool
	status  int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rv := &receiver{url: "http://" + ln.Addr().String(), failLeft: failFirst}
	srv := &fasthttp.Server{Handler: rv.handle}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return rv
}

func (rv *receiver) handle(ctx *fasthttp.RequestCtx) {
	n := rv.inFlight.Add(1)
	defer rv.inFlight.Add(-1)
	for {
		m := rv.maxIn.Load()
		if n <= m || rv.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	if rv.hold != nil {
		<-rv.hold
	}
	ts := string(ctx.Request.Header.Peek(HeaderTimestamp))
	sig := string(ctx.Request.Header.Peek(HeaderSignature))
	var body struct {
		Reports []map[string]any `json:"reports"`
	}
	_ = json.Unmarshal(ctx.PostBody(), &body)
	p := receivedPost{path: string(ctx.Path()), reports: body.Reports,
		sigOK: VerifySignature(testSecret, ts, ctx.PostBody(), sig) &&
			string(ctx.Request.Header.ContentType()) == "application/json"}
	rv.mu.Lock()
	p.status = 204
	if rv.failLeft > 0 {
		rv.failLeft--
		p.status = 500
	}
	rv.posts = append(rv.posts, p)
	rv.mu.Unlock()
	ctx.SetStatusCode(p.status)
}

func (rv *receiver) received() []receivedPost {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]receivedPost(nil), rv.posts...)
}

func startSender(t *testing.T, cfg WebhookConfig, outbox core.ReportOutbox) (*WebhookSender, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	w, err := NewWebhookSender(cfg, outbox, zerolog.Nop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return w, reg
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func report(id string) core.Report {
	return core.Report{MessageID: id, Kind: core.KindApproval, ApplicationID: "APP-" + id, To: "84912345678",
		Status: core.StatusDelivered, At: time.Now()}
}

func TestWebhookRetriedSignedAckedOnce(t *testing.T) {
	rv := newReceiver(t, 2)
	ob := newMemStore()
	seqs := []uint64{ob.addReport(report("m1")), ob.addReport(report("m2"))}
	_, reg := startSender(t, WebhookConfig{URL: rv.url + "/hook", RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}, ob)

	waitFor(t, "outbox drained", func() bool { return ob.outboxLen() == 0 })
	posts := rv.received()
	if len(posts) != 3 {
		t.Fatalf("%d POSTs, want 3 (2 failures and a success)", len(posts))
	}
	for i, p := range posts {
		if !p.sigOK || p.path != "/hook" || len(p.reports) != 2 {
			t.Fatalf("post %d: %+v", i, p)
		}
		if p.reports[0]["message_id"] != "m1" || p.reports[0]["status"] != "delivered" || p.reports[0]["application_id"] != "APP-m1" {
			t.Fatalf("report JSON %v", p.reports[0])
		}
		if _, leaked := p.reports[0]["CallbackURL"]; leaked {
			t.Fatal("internal fields in the report")
		}
	}
	ob.mu.Lock()
	for _, s := range seqs {
		if ob.acked[s] != 1 || ob.retried[s] != 2 {
			t.Errorf("seq %d: acked %d times, retried %d times; want 1 and 2", s, ob.acked[s], ob.retried[s])
		}
	}
	ob.mu.Unlock()
	if got := sumCounter(t, reg, "vneidgw_webhook_reports_sent_total"); got != 2 {
		t.Errorf("sent metric %v, want 2", got)
	}
	if got := sumCounter(t, reg, "vneidgw_webhook_reports_failed_total"); got != 4 {
		t.Errorf("failed metric %v, want 4", got)
	}
}

// sumCounter sums a counter family gathered from reg.
func sumCounter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestWebhookCallbackAndWebhookTargets(t *testing.T) {
	hook := newReceiver(t, 0)
	cb := newReceiver(t, 2)
	ob := newMemStore()
	withCB := report("m1")
	withCB.CallbackURL = cb.url + "/cb?token=abc"
	seqCB := ob.addReport(withCB)
	seqPlain := ob.addReport(report("m2"))
	startSender(t, WebhookConfig{URL: hook.url, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}, ob)

	waitFor(t, "outbox drained", func() bool { return ob.outboxLen() == 0 })
	// The webhook took both reports once; the callback got only its report,
	// three times (two failures). The report with a callback was acked only
	// once both had it, and the webhook did not get it again on retries.
	seen := map[string]int{}
	for _, p := range hook.received() {
		for _, r := range p.reports {
			seen[r["message_id"].(string)]++
		}
	}
	if seen["m1"] != 1 || seen["m2"] != 1 {
		t.Fatalf("webhook saw %v", seen)
	}
	cbPosts := cb.received()
	if len(cbPosts) != 3 {
		t.Fatalf("callback got %d POSTs, want 3", len(cbPosts))
	}
	for _, p := range cbPosts {
		if !p.sigOK || len(p.reports) != 1 || p.reports[0]["message_id"] != "m1" {
			t.Fatalf("callback post %+v", p)
		}
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.acked[seqCB] != 1 || ob.retried[seqCB] != 2 || ob.acked[seqPlain] != 1 || ob.retried[seqPlain] != 0 {
		t.Fatalf("acked %v retried %v", ob.acked, ob.retried)
	}
}

func TestWebhookConcurrencyAndBatches(t *testing.T) {
	rv := newReceiver(t, 0)
	rv.hold = make(chan struct{})
	ob := newMemStore()
	for i := range 10 {
		ob.addReport(report("m" + strconv.Itoa(i)))
	}
	startSender(t, WebhookConfig{URL: rv.url, BatchMax: 2, Concurrency: 2}, ob)
	waitFor(t, "two POSTs in flight", func() bool { return rv.inFlight.Load() == 2 })
	time.Sleep(50 * time.Millisecond) // a third would have started by now
	if n := rv.inFlight.Load(); n != 2 {
		t.Fatalf("%d POSTs in flight, want 2", n)
	}
	close(rv.hold)
	waitFor(t, "outbox drained", func() bool { return ob.outboxLen() == 0 })
	total := 0
	for _, p := range rv.received() {
		if len(p.reports) > 2 {
			t.Fatalf("batch of %d, want at most 2", len(p.reports))
		}
		total += len(p.reports)
	}
	if total != 10 || rv.maxIn.Load() != 2 {
		t.Fatalf("delivered %d reports, max in flight %d", total, rv.maxIn.Load())
	}
}

func TestWebhookNoTargetAcks(t *testing.T) {
	ob := newMemStore()
	seq := ob.addReport(report("m1"))
	startSender(t, WebhookConfig{}, ob)
	waitFor(t, "acked", func() bool { return ob.outboxLen() == 0 })
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.acked[seq] != 1 {
		t.Fatalf("acked %d times", ob.acked[seq])
	}
}

func TestWebhookUnreachableBacksOff(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	ob := newMemStore()
	seq := ob.addReport(report("m1"))
	startSender(t, WebhookConfig{URL: dead, RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond, Timeout: time.Second}, ob)
	waitFor(t, "3 retries", func() bool {
		ob.mu.Lock()
		defer ob.mu.Unlock()
		return ob.retried[seq] >= 3
	})
	if ob.outboxLen() != 1 {
		t.Fatal("an undelivered report left the outbox")
	}
}

func TestNewWebhookSenderConfig(t *testing.T) {
	ob := newMemStore()
	cases := []struct {
		name string
		cfg  WebhookConfig
		ok   bool
	}{
		{"defaults", WebhookConfig{Secret: "x", URL: "https://idp.example/hook"}, true},
		{"no url", WebhookConfig{Secret: "x"}, true},
		{"no secret", WebhookConfig{URL: "https://idp.example/hook"}, false},
		{"ftp url", WebhookConfig{Secret: "x", URL: "ftp://idp.example/hook"}, false},
		{"relative url", WebhookConfig{Secret: "x", URL: "/hook"}, false},
		{"retry max below min", WebhookConfig{Secret: "x", RetryMin: time.Minute, RetryMax: time.Second}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := NewWebhookSender(c.cfg, ob, zerolog.Nop(), prometheus.NewRegistry())
			if (err == nil) != c.ok {
				t.Fatalf("err = %v", err)
			}
			if err != nil && core.ErrorCode(err) != core.EINVALID {
				t.Fatalf("code %s", core.ErrorCode(err))
			}
			if c.name == "defaults" && (w.cfg.BatchMax != 200 || w.cfg.Concurrency != 4 || w.cfg.Timeout != 10*time.Second ||
				w.cfg.RetryMin != time.Second || w.cfg.RetryMax != 10*time.Minute) {
				t.Fatalf("defaults %+v", w.cfg)
			}
		})
	}
	if _, err := NewWebhookSender(WebhookConfig{Secret: "x"}, nil, zerolog.Nop(), nil); err == nil {
		t.Fatal("nil outbox accepted")
	}
}

func TestWebhookBackoff(t *testing.T) {
	w, err := NewWebhookSender(WebhookConfig{Secret: "x", RetryMin: time.Second, RetryMax: 10 * time.Minute}, newMemStore(), zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		attempts int
		want     time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {9, 512 * time.Second}, {10, 10 * time.Minute}, {60, 10 * time.Minute}} {
		for range 20 {
			got := w.backoff(c.attempts)
			if got < c.want*9/10-time.Millisecond || got > c.want*11/10+time.Millisecond {
				t.Fatalf("backoff(%d) = %s, want %s ±10%%", c.attempts, got, c.want)
			}
		}
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"reports":[]}`)
	ts := "1700000000"
	good := Sign(testSecret, ts, body)
	cases := []struct {
		name, secret, ts string
		body             []byte
		header           string
		want             bool
	}{
		{"good", testSecret, ts, body, good, true},
		{"known vector", "key", "1", []byte("x"), "sha256=" + hmacHex("key", "1.x"), true},
		{"wrong secret", "other", ts, body, good, false},
		{"tampered body", testSecret, ts, []byte(`{"reports":[1]}`), good, false},
		{"other timestamp", testSecret, "1700000001", body, good, false},
		{"no prefix", testSecret, ts, body, good[len("sha256="):], false},
		{"bad hex", testSecret, ts, body, "sha256=zz", false},
		{"short", testSecret, ts, body, good[:20], false},
		{"empty", testSecret, ts, body, "", false},
		{"empty secret", "", ts, body, Sign("", ts, body), false},
	}
	for _, c := range cases {
		if got := VerifySignature(c.secret, c.ts, c.body, c.header); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
