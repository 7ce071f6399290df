package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

func TestAuditLogPaging(t *testing.T) {
	l := NewAuditLog(actOpenDB(t))
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 25; i++ {
		ev := core.AuditEvent{At: t0.Add(time.Duration(i) * time.Second), Action: core.AuditLogin, Outcome: fmt.Sprint(i)}
		if err := l.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cursor := ""
	pages := 0
	for {
		evs, next, err := l.Events(ctx, cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ev := range evs {
			got = append(got, ev.Outcome)
			if ev.ID == "" {
				t.Fatal("no id")
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 || len(got) != 25 || got[0] != "24" || got[24] != "0" {
		t.Fatalf("pages %d, %v", pages, got)
	}
	if evs, next, err := NewAuditLog(actOpenDB(t)).Events(ctx, "", 10); err != nil || len(evs) != 0 || next != "" {
		t.Fatal("empty log")
	}
}

// RecordBatch stores its events in groups of auditGroup, one key each;
// paging walks them with single events around, each event once, newest
// first.
func TestAuditLogGroupsABatch(t *testing.T) {
	db := actOpenDB(t)
	l := NewAuditLog(db)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for i := range 3 {
		if err := l.Record(ctx, core.AuditEvent{At: t0.Add(time.Duration(i) * time.Second), Action: "before", Outcome: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 2*auditGroup + 88
	batch := make([]core.AuditEvent, n)
	for i := range batch {
		batch[i] = core.AuditEvent{At: t0.Add(time.Minute), Action: core.AuditAccountCreated, Subject: fmt.Sprintf("s%04d", i)}
	}
	if err := l.RecordBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := l.Record(ctx, core.AuditEvent{At: t0.Add(time.Hour + time.Duration(i)*time.Second), Action: "after", Outcome: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	keys := 0
	if err := db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = []byte(pfxAudit), false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := 3 + 3 + 2; keys != want {
		t.Fatalf("%d keys under %s, want %d (3 groups and 5 single events)", keys, pfxAudit, want)
	}
	var got []core.AuditEvent
	ids := map[string]bool{}
	for cursor := ""; ; {
		page, next, err := l.Events(ctx, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page {
			if ids[ev.ID] {
				t.Fatalf("event %s listed twice", ev.ID)
			}
			ids[ev.ID] = true
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != n+5 {
		t.Fatalf("listed %d events, want %d", len(got), n+5)
	}
	for i := 1; i < len(got); i++ {
		if got[i].At.After(got[i-1].At) || got[i].At.Equal(got[i-1].At) && got[i].ID > got[i-1].ID {
			t.Fatalf("event %d (%s %v) listed after an older one (%s %v)", i, got[i].ID, got[i].At, got[i-1].ID, got[i-1].At)
		}
	}
	if got[0].Action != "after" || got[0].Outcome != "1" || got[len(got)-1].Action != "before" || got[len(got)-1].Outcome != "0" {
		t.Fatalf("first %+v, last %+v", got[0], got[len(got)-1])
	}
	// A cursor of a single event's id (as pages ended before groups) still
	// resumes after it.
	rest, _, err := l.Events(ctx, got[1].ID, 1)
	if err != nil || len(rest) != 1 || rest[0].ID != got[2].ID {
		t.Fatalf("after %s: %+v %v, want %s", got[1].ID, rest, err, got[2].ID)
	}
}
