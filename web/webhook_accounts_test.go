package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/core/store"
)

// TestAccountEventWebhookRetriesUntilAccepted: an activation event in the
// durable outbox reaches a receiver that fails twice, signed, and is acked
// once (the outbox is then empty and nothing more is sent).
func TestAccountEventWebhookRetriesUntilAccepted(t *testing.T) {
	st, _ := openStore(t)
	db := st.(*store.Store).DB()
	accounts := st.(*store.Store).AccountStore()
	outbox := store.NewAccountEventOutbox(db)
	ctx := context.Background()
	now := time.Now()
	acct := &core.Account{IDNumber: "001085012345", Phone: "84912345678", State: core.AccountPending, CreatedAt: now, UpdatedAt: now}
	if _, err := accounts.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.UpdateAccount(ctx, acct.IDNumber, func(a *core.Account) (*core.AccountEvent, error) {
		a.State = core.AccountActive
		return &core.AccountEvent{ID: core.NewID(now), Type: core.EventActivated, IDNumber: a.IDNumber, State: a.State, Channel: core.ChannelUSSD, At: now}, nil
	}); err != nil {
		t.Fatal(err)
	}

	const secret = "account-hook-secret"
	var mu sync.Mutex
	var attempts, good int
	var got []core.AccountEvent
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if !VerifySignature(secret, r.Header.Get(HeaderTimestamp), body, r.Header.Get(HeaderSignature)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if attempts <= 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var b struct {
			Events []core.AccountEvent `json:"events"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		good++
		got = append(got, b.Events...)
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()

	reg := prometheus.NewRegistry()
	s, err := NewAccountEventSender(WebhookConfig{URL: recv.URL, Secret: secret, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
		outbox, zerolog.Nop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	s.poll = 10 * time.Millisecond
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := outbox.Len(ctx)
		mu.Lock()
		ok := good == 1 && n == 0
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event not delivered: attempts %d, accepted %d, outbox %d", attempts, good, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // nothing more may arrive
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != 3 || good != 1 || len(got) != 1 || got[0].Type != core.EventActivated || got[0].IDNumber != "001085012345" {
		t.Fatalf("attempts %d, accepted %d, events %+v", attempts, good, got)
	}
}

func TestAccountEventSenderConfig(t *testing.T) {
	st, _ := openStore(t)
	outbox := store.NewAccountEventOutbox(st.(*store.Store).DB())
	if _, err := NewAccountEventSender(WebhookConfig{URL: "ftp://x/", Secret: "s"}, outbox, zerolog.Nop(), nil); err == nil {
		t.Fatal("ftp URL accepted")
	}
	if _, err := NewAccountEventSender(WebhookConfig{URL: "http://127.0.0.1:1/"}, outbox, zerolog.Nop(), nil); err == nil {
		t.Fatal("URL without a secret accepted")
	}
	// No URL: Run just waits for the end (events stay in the outbox).
	s, err := NewAccountEventSender(WebhookConfig{}, outbox, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
}
