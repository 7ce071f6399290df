package store

import (
	"context"
	"fmt"
	"testing"
	"time"

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
