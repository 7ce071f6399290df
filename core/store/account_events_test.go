package store

import (
	"context"
	"testing"
	"time"

	"vneidgw/core"
)

func TestAccountEventOutboxRetryAck(t *testing.T) {
	db := actOpenDB(t)
	s, o := newAccountStore(db), NewAccountEventOutbox(db)
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, actAccount("001085012345", "84912345678")); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for _, typ := range []string{core.EventActivated, core.EventLocked, core.EventUnlocked} {
		if _, err := s.UpdateAccount(ctx, "001085012345", func(a *core.Account) (*core.AccountEvent, error) {
			return &core.AccountEvent{ID: core.NewID(t0), Type: typ, IDNumber: a.IDNumber, At: t0}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := o.Pending(ctx, t0, 10)
	if err != nil || len(evs) != 3 {
		t.Fatalf("%d %v", len(evs), err)
	}
	// Same due time: written order.
	if evs[0].Type != core.EventActivated || evs[1].Type != core.EventLocked || evs[2].Type != core.EventUnlocked {
		t.Fatalf("order %+v", evs)
	}
	if evs, _ := o.Pending(ctx, t0.Add(-time.Second), 10); len(evs) != 0 {
		t.Fatal("not yet due returned")
	}
	if evs, _ := o.Pending(ctx, t0, 2); len(evs) != 2 {
		t.Fatal("max ignored")
	}
	// The first fails: due again later, after the others, with an attempt counted.
	if err := o.Retry(ctx, evs[0].ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	now, _ := o.Pending(ctx, t0, 10)
	if len(now) != 2 {
		t.Fatalf("%d due now", len(now))
	}
	later, _ := o.Pending(ctx, t0.Add(time.Minute), 10)
	if len(later) != 3 || later[2].ID != evs[0].ID || later[2].Attempts != 1 {
		t.Fatalf("later %+v", later)
	}
	for _, ev := range later {
		if err := o.Ack(ctx, ev.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Ack(ctx, evs[0].ID); err != nil {
		t.Fatalf("second ack: %v", err)
	}
	if err := o.Retry(ctx, evs[0].ID, t0); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("retry of acked: %v", err)
	}
	if n, err := o.Len(ctx); n != 0 || err != nil {
		t.Fatalf("len %d %v", n, err)
	}
}
