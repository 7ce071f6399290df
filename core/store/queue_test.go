package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"vneidgw/core"
)

func TestLifecycleTwoParts(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	reqs := approvals("a", "viettel", 1)
	reqs[0].Message.CallbackURL = "https://example.test/cb"
	reqs[0].Message.Reference = "ref-1"
	res := mustAccept(t, s, reqs)
	if res[0].Duplicate || res[0].MessageID != "a-000000" {
		t.Fatalf("result %+v", res[0])
	}
	if reqs[0].Message.QueueSeq == 0 {
		t.Fatal("caller's QueueSeq not set")
	}
	if got := s.Backlog()["viettel"][core.PriorityApproval]; got != 1 {
		t.Fatalf("backlog %d", got)
	}
	ms := next(t, s, []string{"viettel"}, 10)
	if len(ms) != 1 || ms[0].ID != "a-000000" {
		t.Fatalf("Next = %v", ids(ms))
	}
	if got := s.Backlog()["viettel"][core.PriorityApproval]; got != 0 {
		t.Fatalf("backlog after lease %d", got)
	}
	mustRecord(t, s, submitted("a-000000", 1, "AB01"))
	m := mustMessage(t, s, "a-000000")
	if m.Status != core.StatusQueued || m.Parts[0].Status != core.StatusSubmitted || m.Parts[0].SMSCID != "AB01" {
		t.Fatalf("after part 1: %+v", m)
	}
	mustRecord(t, s, submitted("a-000000", 2, "AB02"))
	m = mustMessage(t, s, "a-000000")
	if m.Status != core.StatusSubmitted {
		t.Fatalf("status %s", m.Status)
	}
	// Queue key gone: nothing comes back after a reopen either.
	mustRecord(t, s, dlr("ab01", core.StatusDelivered))
	if m = mustMessage(t, s, "a-000000"); m.Status != core.StatusSubmitted || m.Parts[0].Status != core.StatusDelivered {
		t.Fatalf("after dlr 1: status %s parts %+v", m.Status, m.Parts)
	}
	mustRecord(t, s, dlr("AB02", core.StatusDelivered))
	m = mustMessage(t, s, "a-000000")
	if m.Status != core.StatusDelivered {
		t.Fatalf("final status %s", m.Status)
	}
	wantHops := []core.Status{core.StatusQueued, core.StatusSubmitted, core.StatusSubmitted, core.StatusDelivered, core.StatusDelivered}
	var got []core.Status
	for _, h := range m.History {
		got = append(got, h.Status)
	}
	if !slices.Equal(got, wantHops) {
		t.Fatalf("history %v", got)
	}
	if h := m.History[4]; h.Part != 2 || h.SMSCID != "AB02" || h.Bind != "viettel/0" || h.Operator != "viettel" {
		t.Fatalf("hop %+v", h)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	reps, err := s.PendingReports(rctx, 10)
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %v %v", reps, err)
	}
	r := reps[0]
	if r.MessageID != "a-000000" || r.Status != core.StatusDelivered || r.CallbackURL != "https://example.test/cb" ||
		r.Reference != "ref-1" || r.ClientID != "client1" || r.ApplicationID != "" || r.Kind != core.KindApproval {
		t.Fatalf("report %+v", r)
	}
	// A redelivered DLR changes nothing and makes no second report.
	mustRecord(t, s, dlr("AB02", core.StatusUndeliverable))
	if m2 := mustMessage(t, s, "a-000000"); len(m2.History) != len(m.History) || m2.Status != core.StatusDelivered {
		t.Fatalf("redelivered dlr changed the message: %+v", m2)
	}
	if n := s.outbox.count; n != 1 {
		t.Fatalf("outbox count %d", n)
	}
}

func TestMessageStatusDerivation(t *testing.T) {
	P := func(ss ...core.Status) []core.PartState {
		var out []core.PartState
		for _, s := range ss {
			out = append(out, core.PartState{Status: s})
		}
		return out
	}
	const (
		q = core.StatusQueued
		s = core.StatusSubmitted
		d = core.StatusDelivered
		u = core.StatusUndeliverable
		e = core.StatusExpired
		r = core.StatusRejected
		x = core.StatusUnknown
	)
	for _, tc := range []struct {
		parts []core.PartState
		want  core.Status
	}{
		{P(q), q}, {P(s), s}, {P(d), d}, {P(s, q), q}, {P(s, s), s}, {P(d, s), s},
		{P(d, d), d}, {P(d, u), u}, {P(u, s), s}, {P(e, u), u}, {P(e, d), e}, {P(r, u), r},
		{P(x, s), x}, {P(x, q), q}, {P(x, d), x}, {P(u, x), x},
	} {
		if got := deriveStatus(tc.parts); got != tc.want {
			t.Errorf("%v: got %s want %s", tc.parts, got, tc.want)
		}
	}
}

func TestAcceptDuplicates(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	first := approvals("d", "viettel", 3)
	mustAccept(t, s, first)

	// Across batches: same application ids, new message ids.
	again := approvals("d", "viettel", 3)
	for i := range again {
		again[i].Message.ID = fmt.Sprintf("other-%d", i)
	}
	res := mustAccept(t, s, again)
	for i, r := range res {
		if !r.Duplicate || r.MessageID != first[i].Message.ID {
			t.Fatalf("dup %d: %+v", i, r)
		}
	}
	if _, err := s.Message(ctx, "other-0"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("duplicate was written: %v", err)
	}

	// Idempotency key per client, within one call and across calls.
	mk := func(id, key, client string) core.AcceptRequest {
		m := newMessage(id, "viettel", core.KindOTP, 1)
		m.ClientID = client
		return core.AcceptRequest{Message: m, IdempotencyKey: key}
	}
	res = mustAccept(t, s, []core.AcceptRequest{mk("o1", "k1", "c1"), mk("o2", "k1", "c1"), mk("o3", "k1", "c2")})
	want := []core.AcceptResult{{MessageID: "o1"}, {MessageID: "o1", Duplicate: true}, {MessageID: "o3"}}
	if !slices.Equal(res, want) {
		t.Fatalf("same call: %+v", res)
	}
	res = mustAccept(t, s, []core.AcceptRequest{mk("o4", "k1", "c1")})
	if !res[0].Duplicate || res[0].MessageID != "o1" {
		t.Fatalf("across calls: %+v", res)
	}

	// Within one group commit: concurrent callers with the same key.
	var wg sync.WaitGroup
	results := make([]core.AcceptResult, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Accept(ctx, []core.AcceptRequest{mk(fmt.Sprintf("g%d", i), "same", "c9")})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = r[0]
		}()
	}
	wg.Wait()
	winners := 0
	for _, r := range results {
		if !r.Duplicate {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners: %+v", winners, results)
	}
	if got := s.Backlog()["viettel"]; got[core.PriorityOTP] != 3 || got[core.PriorityApproval] != 3 {
		t.Fatalf("backlog %v", got)
	}

	app, err := s.Application(ctx, "app-d-000001")
	if err != nil || app.MessageID != "d-000001" || app.FullName != "Nguyễn Văn A" {
		t.Fatalf("application %+v %v", app, err)
	}
}

func TestAcceptValidation(t *testing.T) {
	s := openStore(t, testConfig(t))
	for name, m := range map[string]*core.Message{
		"no id":       {To: "84912345678", Operator: "viettel"},
		"no to":       {ID: "x", Operator: "viettel"},
		"no operator": {ID: "x", To: "84912345678"},
		"slash op":    {ID: "x", To: "84912345678", Operator: "a/b"},
		"bad prio":    {ID: "x", To: "84912345678", Operator: "v", Priority: 7},
	} {
		if _, err := s.Accept(context.Background(), []core.AcceptRequest{{Message: m}}); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestPriorityOrder(t *testing.T) {
	cfg := testConfig(t)
	cfg.SyncWrites = false // setup speed; ordering does not depend on it
	s := openStore(t, cfg)
	const n = 100_000
	for i := 0; i < n; i += 5000 {
		reqs := make([]core.AcceptRequest, 5000)
		for j := range reqs {
			reqs[j] = core.AcceptRequest{Message: newMessage(fmt.Sprintf("ap%07d", i+j), "viettel", core.KindApproval, 2)}
		}
		mustAccept(t, s, reqs)
	}
	mustAccept(t, s, []core.AcceptRequest{
		{Message: newMessage("notice1", "viettel", core.KindNotice, 1)},
		{Message: newMessage("otp1", "viettel", core.KindOTP, 1)},
	})
	ms := next(t, s, []string{"viettel"}, 3)
	if got := ids(ms); !slices.Equal(got, []string{"otp1", "notice1", "ap0000000"}) {
		t.Fatalf("order %v", got)
	}
	if b := s.Backlog()["viettel"]; b != [3]int{0, 0, n - 1} {
		t.Fatalf("backlog %v", b)
	}
	// Another operator's lanes are not served.
	if ms := tryNext(t, s, []string{"mobifone"}, 3); len(ms) != 0 {
		t.Fatalf("mobifone got %v", ids(ms))
	}
}

func TestSpillRefillExactlyOnceInOrder(t *testing.T) {
	cfg := testConfig(t)
	cfg.LaneCap, cfg.ApprovalLaneCap = 3, 5
	s := openStore(t, cfg)
	ctx := context.Background()
	const total = 600
	var want, got []string
	accepted := 0
	sizes := []int{1, 7, 2, 13, 4, 40, 1, 1, 3}
	for round := 0; accepted < total; round++ {
		n := min(sizes[round%len(sizes)], total-accepted)
		reqs := make([]core.AcceptRequest, n)
		for j := range reqs {
			id := fmt.Sprintf("s%05d", accepted+j)
			reqs[j] = core.AcceptRequest{Message: newMessage(id, "vina", core.KindApproval, 1)}
			want = append(want, id)
		}
		mustAccept(t, s, reqs)
		accepted += n
		if round%2 == 1 {
			got = append(got, ids(tryNext(t, s, []string{"vina"}, round%4+1))...)
		}
		s.sched.mu.Lock()
		over := len(s.sched.lanes[laneKey{"vina", core.PriorityApproval}].fifo) > 5
		s.sched.mu.Unlock()
		if over {
			t.Fatal("lane FIFO over its cap")
		}
	}
	for len(got) < total {
		ms := next(t, s, []string{"vina"}, 7)
		got = append(got, ids(ms)...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order differs: got %d, first diff around %v", len(got), firstDiff(got, want))
	}
	if ms := tryNext(t, s, []string{"vina"}, 10); len(ms) != 0 {
		t.Fatalf("extra messages %v", ids(ms))
	}
	if b := s.Backlog()["vina"]; b != [3]int{} {
		t.Fatalf("backlog %v", b)
	}
	_ = ctx
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("index %d: %s vs %s", i, a[i], b[i])
		}
	}
	return "length"
}

func TestRetryOrderingAndDelay(t *testing.T) {
	s := openStore(t, testConfig(t))
	reqs := make([]core.AcceptRequest, 4)
	for i := range reqs {
		reqs[i] = core.AcceptRequest{Message: newMessage(fmt.Sprintf("r%d", i), "mobi", core.KindOTP, 1)}
	}
	mustAccept(t, s, reqs)
	first := next(t, s, []string{"mobi"}, 2) // r0 r1
	start := time.Now()
	s.Retry(first[1], start.Add(150*time.Millisecond))
	s.Retry(first[0], start.Add(200*time.Millisecond))
	if b := s.Backlog()["mobi"][core.PriorityOTP]; b != 4 {
		t.Fatalf("backlog with retries %d", b)
	}
	// Not yet due: the remaining queue comes first.
	if got := ids(next(t, s, []string{"mobi"}, 1)); !slices.Equal(got, []string{"r2"}) {
		t.Fatalf("got %v", got)
	}
	// Due retries jump ahead of r3, in due order; Next blocks until then.
	time.Sleep(time.Until(start.Add(210 * time.Millisecond)))
	if got := ids(next(t, s, []string{"mobi"}, 3)); !slices.Equal(got, []string{"r1", "r0", "r3"}) {
		t.Fatalf("got %v", got)
	}
	// A blocked Next wakes when a retry falls due.
	m := mustMessage(t, s, "r3")
	s.Retry(m, time.Now().Add(80*time.Millisecond))
	t0 := time.Now()
	got := next(t, s, []string{"mobi"}, 1)
	if el := time.Since(t0); len(got) != 1 || got[0].ID != "r3" || el < 60*time.Millisecond || el > 2*time.Second {
		t.Fatalf("got %v after %v", ids(got), el)
	}
}

func TestNextBlocksUntilAcceptAndHonoursContext(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx, []string{"viettel"}, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline, got %v", err)
	}
	done := make(chan []*core.Message, 1)
	go func() {
		ms, _ := s.Next(context.Background(), []string{"viettel"}, 5)
		done <- ms
	}()
	time.Sleep(20 * time.Millisecond)
	mustAccept(t, s, []core.AcceptRequest{{Message: newMessage("w1", "viettel", core.KindOTP, 1)}})
	select {
	case ms := <-done:
		if len(ms) != 1 || ms[0].ID != "w1" {
			t.Fatalf("got %v", ids(ms))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Next did not wake")
	}
	// Close wakes a blocked Next with EUNAVAILABLE.
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(context.Background(), []string{"viettel"}, 1)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if core.ErrorCode(err) != core.EUNAVAILABLE {
			t.Fatalf("got %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not wake Next")
	}
	if _, err := s.Accept(context.Background(), []core.AcceptRequest{{Message: newMessage("late", "viettel", core.KindOTP, 1)}}); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("accept after close: %v", err)
	}
	if err := s.Ping(); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("ping after close: %v", err)
	}
}

func TestReopenMidway(t *testing.T) {
	cfg := testConfig(t)
	cfg.LaneCap, cfg.ApprovalLaneCap = 2, 4
	s := openStore(t, cfg)
	reqs := approvals("x", "viettel", 10)
	mustAccept(t, s, reqs)
	leased := next(t, s, []string{"viettel"}, 5) // x0..x4
	// x0: fully submitted (leaves the queue); x1: one part submitted (stays);
	// x2: rejected (final); x3, x4: leased but unsettled.
	mustRecord(t, s,
		submitted(leased[0].ID, 1, "100"), submitted(leased[0].ID, 2, "101"),
		submitted(leased[1].ID, 1, "110"),
		core.Event{Kind: core.EventRejected, MessageID: leased[2].ID, Part: 1, SMPPStatus: 0x0B, ErrorCode: "invalid_dest"},
	)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, cfg)
	if b := s2.Backlog()["viettel"][core.PriorityApproval]; b != 8 {
		t.Fatalf("backlog after reopen %d", b)
	}
	var got []*core.Message
	for len(got) < 8 {
		got = append(got, next(t, s2, []string{"viettel"}, 3)...)
	}
	want := []string{"x-000001", "x-000003", "x-000004", "x-000005", "x-000006", "x-000007", "x-000008", "x-000009"}
	if !slices.Equal(ids(got), want) {
		t.Fatalf("after reopen %v", ids(got))
	}
	if p := got[0].Parts; p[0].Status != core.StatusSubmitted || p[0].SMSCID != "110" || p[1].Status != core.StatusQueued {
		t.Fatalf("x1 parts %+v", p)
	}
	if ms := tryNext(t, s2, []string{"viettel"}, 10); len(ms) != 0 {
		t.Fatalf("extra %v", ids(ms))
	}
	if m := mustMessage(t, s2, "x-000002"); m.Status != core.StatusRejected {
		t.Fatalf("x2 %s", m.Status)
	}
	// Sequence numbers continue after reopen.
	r := approvals("y", "viettel", 1)
	mustAccept(t, s2, r)
	if r[0].Message.QueueSeq <= 10 {
		t.Fatalf("seq reused: %d", r[0].Message.QueueSeq)
	}
	// Outbox survived: one report (x2 rejected).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	reps, err := s2.PendingReports(ctx, 10)
	if err != nil || len(reps) != 1 || reps[0].MessageID != "x-000002" || reps[0].Status != core.StatusRejected || reps[0].ErrorCode != "invalid_dest" {
		t.Fatalf("reports %+v %v", reps, err)
	}
}

func TestExpiredWhileWaitingLeavesFIFO(t *testing.T) {
	cfg := testConfig(t)
	cfg.LaneCap = 2
	s := openStore(t, cfg)
	var reqs []core.AcceptRequest
	for i := 0; i < 5; i++ {
		reqs = append(reqs, core.AcceptRequest{Message: newMessage(fmt.Sprintf("e%d", i), "gm", core.KindOTP, 1)})
	}
	mustAccept(t, s, reqs) // e0 e1 in memory, e2..e4 on disk
	mustRecord(t, s,
		core.Event{Kind: core.EventExpired, MessageID: "e1"},
		core.Event{Kind: core.EventExpired, MessageID: "e3"},
	)
	if b := s.Backlog()["gm"][core.PriorityOTP]; b != 3 {
		t.Fatalf("backlog %d", b)
	}
	var got []string
	for len(got) < 3 {
		got = append(got, ids(next(t, s, []string{"gm"}, 10))...)
	}
	if !slices.Equal(got, []string{"e0", "e2", "e4"}) {
		t.Fatalf("got %v", got)
	}
	if m := mustMessage(t, s, "e3"); m.Status != core.StatusExpired || m.Parts[0].Status != core.StatusExpired {
		t.Fatalf("e3 %+v", m)
	}
}

func TestConcurrentAccept(t *testing.T) {
	s := openStore(t, testConfig(t))
	const workers, per = 50, 20
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				m := newMessage(fmt.Sprintf("c%02d-%03d", w, i), "viettel", core.KindOTP, 1)
				if _, err := s.Accept(context.Background(), []core.AcceptRequest{{Message: m}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b := s.Backlog()["viettel"][core.PriorityOTP]; b != workers*per {
		t.Fatalf("backlog %d", b)
	}
	seen := map[string]bool{}
	var last uint64
	for len(seen) < workers*per {
		for _, m := range next(t, s, []string{"viettel"}, 100) {
			if seen[m.ID] {
				t.Fatalf("%s twice", m.ID)
			}
			if m.QueueSeq <= last {
				t.Fatalf("seq out of order %d after %d", m.QueueSeq, last)
			}
			last = m.QueueSeq
			seen[m.ID] = true
		}
	}
}
