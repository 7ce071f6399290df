package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"vneidgw/core"
)

func rejectN(t *testing.T, s *Store, n int) {
	t.Helper()
	var reqs []core.AcceptRequest
	var evs []core.Event
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ob%03d", i)
		reqs = append(reqs, core.AcceptRequest{Message: newMessage(id, "viettel", core.KindOTP, 1)})
		evs = append(evs, core.Event{Kind: core.EventRejected, MessageID: id, Part: 1})
	}
	mustAccept(t, s, reqs)
	mustRecord(t, s, evs...)
}

func TestOutboxAckRetry(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	rejectN(t, s, 5)
	reps, err := s.PendingReports(ctx, 3)
	if err != nil || len(reps) != 3 {
		t.Fatalf("%v %v", reps, err)
	}
	var got []string
	for _, r := range reps {
		got = append(got, r.MessageID)
	}
	if !slices.Equal(got, []string{"ob000", "ob001", "ob002"}) {
		t.Fatalf("order %v", got)
	}
	if err := s.AckReports(ctx, []uint64{reps[0].Seq, reps[1].Seq}); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryReports(ctx, reps[2:], time.Now().Add(150*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	reps2, err := s.PendingReports(ctx, 10)
	if err != nil || len(reps2) != 2 || reps2[0].MessageID != "ob003" {
		t.Fatalf("%+v %v", reps2, err)
	}
	if err := s.AckReports(ctx, []uint64{reps2[0].Seq, reps2[1].Seq}); err != nil {
		t.Fatal(err)
	}
	// The retried report comes back when due, with its attempt counted;
	// PendingReports blocks until then.
	t0 := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	reps3, err := s.PendingReports(tctx, 10)
	if err != nil || len(reps3) != 1 || reps3[0].MessageID != "ob002" || reps3[0].Attempts != 1 {
		t.Fatalf("%+v %v", reps3, err)
	}
	if el := time.Since(t0); el < 50*time.Millisecond {
		t.Fatalf("retried report came back early (%v)", el)
	}
	if s.outbox.count != 1 {
		t.Fatalf("count %d", s.outbox.count)
	}
	// Reopen: the unacked report is back (heap rebuilt from disk).
	cfgDir := s.cfg
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, cfgDir)
	reps4, err := s2.PendingReports(tctx, 10)
	if err != nil || len(reps4) != 1 || reps4[0].Seq != reps3[0].Seq || reps4[0].Attempts != 1 {
		t.Fatalf("%+v %v", reps4, err)
	}
	if err := s2.AckReports(ctx, []uint64{reps4[0].Seq, reps4[0].Seq, 999}); err != nil {
		t.Fatal(err)
	}
	if s2.outbox.count != 0 {
		t.Fatalf("count %d", s2.outbox.count)
	}
	short, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel2()
	if _, err := s2.PendingReports(short, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline, got %v", err)
	}
}

func TestOutboxWakesOnNewReport(t *testing.T) {
	s := openStore(t, testConfig(t))
	got := make(chan []core.Report, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		r, _ := s.PendingReports(ctx, 10)
		got <- r
	}()
	time.Sleep(20 * time.Millisecond)
	rejectN(t, s, 1)
	if r := <-got; len(r) != 1 {
		t.Fatalf("got %v", r)
	}
}
