package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"vneidgw/core"
)

// TestRefillDoesNotHoldTheQueue: while a spilled approval lane is being
// read back from disk, an OTP is accepted and leased at once; a message
// accepted and one expired during the scan are handled exactly once.
func TestRefillDoesNotHoldTheQueue(t *testing.T) {
	cfg := testConfig(t)
	cfg.ApprovalLaneCap = 4
	s := openStore(t, cfg)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	first := true
	s.scanHook = func() {
		if first {
			first = false
			entered <- struct{}{}
			<-release
		}
	}
	var want []string
	var reqs []core.AcceptRequest
	for i := range 20 {
		id := fmt.Sprintf("r%02d", i)
		reqs = append(reqs, core.AcceptRequest{Message: newMessage(id, "vina", core.KindApproval, 1)})
		want = append(want, id)
	}
	mustAccept(t, s, reqs) // r00–r03 in memory, the rest on disk
	got := ids(next(t, s, []string{"vina"}, 4))
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no refill started")
	}

	// The scan is under way (and blocked): the queue must still serve.
	served := make(chan []*core.Message, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.Accept(ctx, []core.AcceptRequest{{Message: newMessage("otp1", "vina", core.KindOTP, 1)}}); err != nil {
			served <- nil
			return
		}
		otp, _ := s.NextRange(ctx, []string{"vina"}, core.PriorityOTP, core.PriorityOTP, 1)
		served <- otp
	}()
	select {
	case otp := <-served:
		if len(otp) != 1 || otp[0].ID != "otp1" {
			close(release)
			t.Fatalf("OTP during a refill: %v", ids(otp))
		}
	case <-time.After(6 * time.Second):
		close(release)
		t.Fatal("the queue is held while a lane is read back from disk")
	}
	mustAccept(t, s, []core.AcceptRequest{{Message: newMessage("r20", "vina", core.KindApproval, 1)}})
	want = append(want, "r20")
	mustRecord(t, s, core.Event{Kind: core.EventExpired, MessageID: "r07"})
	want = slices.DeleteFunc(want, func(id string) bool { return id == "r07" })
	close(release)

	for len(got) < len(want) {
		got = append(got, ids(next(t, s, []string{"vina"}, 3))...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("leased %v\nwant    %v", got, want)
	}
	if ms := tryNext(t, s, []string{"vina"}, 10); len(ms) != 0 {
		t.Fatalf("extra messages %v", ids(ms))
	}
	if b := s.Backlog()["vina"]; b != [3]int{} {
		t.Fatalf("backlog %v", b)
	}
}

// TestMergeRefill covers the merge's bookkeeping directly.
func TestMergeRefill(t *testing.T) {
	msgs := func(seqs ...uint64) []*core.Message {
		var out []*core.Message
		for _, q := range seqs {
			out = append(out, &core.Message{ID: fmt.Sprint(q), QueueSeq: q})
		}
		return out
	}
	var q scheduler
	for _, c := range []struct {
		name               string
		removed            []uint64
		offered, exhausted bool
		wantIDs            []string
		wantCursor         uint64
		wantSpilled        bool
	}{
		{"all read", nil, false, true, []string{"5", "6", "7"}, 9, false},
		{"more on disk", nil, false, false, []string{"5", "6", "7"}, 9, true},
		{"offer during the scan", nil, true, true, []string{"5", "6", "7"}, 9, true},
		{"removed during the scan", []uint64{6}, false, true, []string{"5", "7"}, 9, false},
	} {
		l := &lane{cap: 10, spilled: true, cursor: 4, refilling: true, offeredDuring: c.offered}
		for _, r := range c.removed {
			if l.removedDuring == nil {
				l.removedDuring = map[uint64]struct{}{}
			}
			l.removedDuring[r] = struct{}{}
		}
		q.mergeRefill(l, msgs(5, 6, 7), 9, c.exhausted)
		if got := ids(l.fifo[l.head:]); !slices.Equal(got, c.wantIDs) || l.cursor != c.wantCursor || l.spilled != c.wantSpilled || l.refilling || l.removedDuring != nil {
			t.Errorf("%s: fifo %v cursor %d spilled %v refilling %v", c.name, got, l.cursor, l.spilled, l.refilling)
		}
	}
}
