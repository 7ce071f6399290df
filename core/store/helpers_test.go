package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

func testConfig(t testing.TB) Config {
	cfg := DefaultConfig(t.TempDir())
	cfg.GCInterval = -1
	return cfg
}

func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	return openStoreOn(t, cfg, prometheus.NewRegistry())
}

// openStoreOn opens a store whose metrics go to reg, closed at cleanup.
func openStoreOn(t testing.TB, cfg Config, reg prometheus.Registerer) *Store {
	t.Helper()
	s, err := Open(cfg, zerolog.Nop(), reg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newMessage(id, op string, kind core.Kind, parts int) *core.Message {
	m := &core.Message{
		ID:        id,
		Kind:      kind,
		Priority:  core.PriorityOf(kind),
		To:        "84912345678",
		Sender:    "VneID",
		Text:      "Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan NGUYEN VAN A da duoc phe duyet.",
		Operator:  op,
		ClientID:  "client1",
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	for i := 0; i < parts; i++ {
		m.Parts = append(m.Parts, core.PartState{Status: core.StatusQueued})
	}
	return m
}

func approvals(prefix, op string, n int) []core.AcceptRequest {
	reqs := make([]core.AcceptRequest, n)
	for i := range reqs {
		id := fmt.Sprintf("%s-%06d", prefix, i)
		reqs[i] = core.AcceptRequest{
			Message:     newMessage(id, op, core.KindApproval, 2),
			Application: &core.Application{ApplicationID: "app-" + id, IDNumber: "001099012345", FullName: "Nguyễn Văn A", Phone: "84912345678", Level: 2},
		}
	}
	return reqs
}

func mustAccept(t testing.TB, s *Store, reqs []core.AcceptRequest) []core.AcceptResult {
	t.Helper()
	res, err := s.Accept(context.Background(), reqs)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return res
}

func mustRecord(t testing.TB, s *Store, evs ...core.Event) {
	t.Helper()
	if err := s.Record(context.Background(), evs); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func mustMessage(t testing.TB, s *Store, id string) *core.Message {
	t.Helper()
	m, err := s.Message(context.Background(), id)
	if err != nil {
		t.Fatalf("Message(%s): %v", id, err)
	}
	return m
}

// next calls Next with a deadline.
func next(t testing.TB, s *Store, ops []string, max int) []*core.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms, err := s.Next(ctx, ops, max)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ms
}

// tryNext returns what is due right now (nil if nothing within 20 ms).
func tryNext(t testing.TB, s *Store, ops []string, max int) []*core.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ms, err := s.Next(ctx, ops, max)
	if err != nil && ctx.Err() == nil {
		t.Fatalf("Next: %v", err)
	}
	return ms
}

func submitted(id string, part int, smscid string) core.Event {
	return core.Event{Kind: core.EventSubmitted, MessageID: id, Part: part, Operator: "viettel", Bind: "viettel/0", SMSCID: smscid}
}

func dlr(smscid string, st core.Status) core.Event {
	return core.Event{Kind: core.EventDLR, Operator: "viettel", Bind: "viettel/0", SMSCID: smscid, Status: st}
}

func ids(ms []*core.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
