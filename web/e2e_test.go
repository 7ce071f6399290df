package web

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// TestApprovalToSignedReport runs the whole path on the real store: an
// approval accepted over the API, its message settled by the gateway
// (here: rejected by the SMSC), the report delivered to the callback URL by
// the WebhookSender through two failures, then acknowledged once.
func TestApprovalToSignedReport(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	q, ok := e.store.(interface {
		core.Queue
		core.ReportOutbox
	})
	if !ok {
		t.Skip("store has no queue/outbox")
	}
	rv := newReceiver(t, 2)
	a := app(42)
	a["callback_url"] = rv.url + "/cb"
	r := e.do("POST", "/api/v1/approvals", "application/json", mustJSON(t, a))
	var acc acceptAnswer
	r.json(t, &acc)
	if r.status != 202 {
		t.Fatalf("approval: %d %s", r.status, r.body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := q.Next(ctx, []string{core.OperatorVinaphone}, 10)
	if err != nil || len(msgs) != 1 || msgs[0].ID != acc.MessageID {
		t.Fatalf("Next: %v %v", msgs, err)
	}
	err = q.Record(ctx, []core.Event{{Kind: core.EventRejected, MessageID: acc.MessageID, Part: 1,
		Operator: core.OperatorVinaphone, SMPPStatus: 0x0B, ErrorCode: "invalid_dest", At: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}

	startSender(t, WebhookConfig{RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}, q)
	waitFor(t, "3 POSTs", func() bool { return len(rv.received()) >= 3 })
	time.Sleep(150 * time.Millisecond) // a 4th (an unacked report coming back) would arrive by now
	posts := rv.received()
	if len(posts) != 3 {
		t.Fatalf("%d POSTs, want 3", len(posts))
	}
	for _, p := range posts {
		if !p.sigOK || len(p.reports) != 1 {
			t.Fatalf("post %+v", p)
		}
		rep := p.reports[0]
		if rep["message_id"] != acc.MessageID || rep["application_id"] != "APP-0000042" || rep["status"] != "rejected" {
			t.Fatalf("report %v", rep)
		}
	}
	// The message's history shows the rejection over the API.
	var m core.Message
	e.do("GET", "/api/v1/messages/"+acc.MessageID, "", nil).json(t, &m)
	if m.Status != core.StatusRejected {
		t.Fatalf("status %s", m.Status)
	}
}

// TestServeGracefulShutdown: ending Serve's context lets a request in
// flight finish, then Serve returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	e := newEnv(t, Config{}, nil) // for its service and store
	srv, err := New(Config{}, Deps{Messages: e.msgs, Keys: e.store, Log: zerolog.Nop(), Ready: func() error {
		close(entered)
		<-release
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln2 := newInmemory(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln2) }()

	got := make(chan int, 1)
	go func() {
		c := &fasthttp.Client{Dial: dialer(ln2)}
		status, _, err := c.Get(nil, "http://x/readyz")
		if err != nil {
			status = -1
		}
		got <- status
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if s := <-got; s != 200 {
		t.Fatalf("in-flight request answered %d", s)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}
