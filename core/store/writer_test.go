package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"

	"vneidgw/core"
)

// TestCommittedOpAnsweredWhileWriterApplies: a committed op is answered by
// the finisher even while the writer goroutine is busy applying a later
// (here: blocked) batch.
func TestCommittedOpAnsweredWhileWriterApplies(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	applied := make(chan struct{})
	a := &op{items: 1, apply: func(b *batch) error {
		b.set([]byte("t/a"), []byte("1"))
		close(applied)
		return nil
	}}
	aDone := make(chan error, 1)
	go func() { aDone <- s.submit(ctx, a) }()
	<-applied

	release := make(chan struct{})
	blocked := &op{items: 1, apply: func(b *batch) error {
		<-release
		b.set([]byte("t/b"), []byte("2"))
		return nil
	}}
	bDone := make(chan error, 1)
	go func() { bDone <- s.submit(ctx, blocked) }()

	select {
	case err := <-aDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a committed op waited for the writer to finish applying the next batch")
	}
	close(release)
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
}

// TestNextRangeLeavesOtherLanes: the main sender's range skips the OTP
// lane, the express sender's takes only it.
func TestNextRangeLeavesOtherLanes(t *testing.T) {
	s := openStore(t, testConfig(t))
	mustAccept(t, s, []core.AcceptRequest{
		{Message: newMessage("a1", "vina", core.KindApproval, 1)},
		{Message: newMessage("o1", "vina", core.KindOTP, 1)},
		{Message: newMessage("n1", "vina", core.KindNotice, 1)},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	main, err := s.NextRange(ctx, []string{"vina"}, core.PriorityOTP+1, core.NumPriorities-1, 10)
	if err != nil || !slices.Equal(ids(main), []string{"n1", "a1"}) {
		t.Fatalf("main range: %v %v", ids(main), err)
	}
	otp, err := s.NextRange(ctx, []string{"vina"}, core.PriorityOTP, core.PriorityOTP, 10)
	if err != nil || !slices.Equal(ids(otp), []string{"o1"}) {
		t.Fatalf("otp range: %v %v", ids(otp), err)
	}
}

// blockWriter submits an op whose apply blocks until the returned release
// is called, and returns once the writer is applying it.
func blockWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	applying, rel := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.submit(context.Background(), &op{items: 1, apply: func(b *batch) error {
			close(applying)
			<-rel
			return nil
		}})
	}()
	<-applying
	return func() {
		close(rel)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// queuedOp submits o in the background and waits until the writer's
// channel for its class has a blocked sender (it is queued).
func queuedOp(t *testing.T, s *Store, o *op) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.submit(context.Background(), o) }()
	time.Sleep(100 * time.Millisecond) // the sender blocks on the unbuffered channel
	return done
}

// TestEventsBeforeQueuedBulk: an event queued after a bulk op is applied
// first (it holds the gateway's unsettled slots; the bulk op is an upload
// that can wait).
func TestEventsBeforeQueuedBulk(t *testing.T) {
	s := openStore(t, testConfig(t))
	release := blockWriter(t, s)
	var order []string // appended on the writer goroutine only
	bulk := queuedOp(t, s, &op{items: 1, apply: func(b *batch) error { order = append(order, "bulk"); return nil }})
	event := queuedOp(t, s, &op{items: 1, class: classEvent, apply: func(b *batch) error { order = append(order, "event"); return nil }})
	release()
	for _, ch := range []<-chan error{bulk, event} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(order, []string{"event", "bulk"}) {
		t.Fatalf("applied %v, want the event first", order)
	}
}

// TestBulkBatchBounded: two queued bulk ops of over half maxBulkItems go into
// separate batches, in order (a batch's size is its events' wait).
func TestBulkBatchBounded(t *testing.T) {
	s := openStore(t, testConfig(t))
	release := blockWriter(t, s)
	var order []string
	var batches []*batch
	mk := func(name string) *op {
		return &op{items: maxBulkItems/2 + 1, apply: func(b *batch) error {
			order = append(order, name)
			batches = append(batches, b)
			return nil
		}}
	}
	first := queuedOp(t, s, mk("first"))
	second := queuedOp(t, s, mk("second"))
	release()
	for _, ch := range []<-chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(order, []string{"first", "second"}) || batches[0] == batches[1] {
		t.Fatalf("applied %v in %d distinct batches, want first then second, in two batches", order, len(slices.Compact(slices.Clone(batches))))
	}
}

// TestRecordStartKeepsOrder: Records started one after another are applied
// in that order even when waited for later (the gateway pipelines them).
func TestRecordStartKeepsOrder(t *testing.T) {
	s := openStore(t, testConfig(t))
	mustAccept(t, s, []core.AcceptRequest{{Message: newMessage("m1", "vina", core.KindNotice, 1)}})
	ctx := context.Background()
	at := time.Now()
	sub := core.Event{Kind: core.EventSubmitted, MessageID: "m1", Part: 1, Operator: "vina", SMSCID: "abc", At: at}
	dlr := core.Event{Kind: core.EventDLR, Operator: "vina", SMSCID: "abc", Status: core.StatusDelivered, At: at.Add(time.Millisecond)}
	w1, err := s.RecordStart(ctx, []core.Event{sub})
	if err != nil {
		t.Fatal(err)
	}
	w2, err := s.RecordStart(ctx, []core.Event{dlr})
	if err != nil {
		t.Fatal(err)
	}
	if err := w2(); err != nil {
		t.Fatal(err)
	}
	if err := w1(); err != nil {
		t.Fatal(err)
	}
	m, err := s.Message(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != core.StatusDelivered {
		t.Fatalf("status %s, want delivered (the receipt applied after its submit)", m.Status)
	}
}

// TestAcceptSplitKeepsOrder: an accept larger than maxBulkItems goes to the
// writer as several ops; its messages keep their order (queue sequence)
// and a repeat within the same call is still a duplicate.
func TestAcceptSplitKeepsOrder(t *testing.T) {
	s := openStore(t, testConfig(t))
	n := 2*maxBulkItems + 37
	reqs := approvals("split", "viettel", n)
	reqs[n-1].Application.ApplicationID = reqs[3].Application.ApplicationID // a repeat in another op
	res := mustAccept(t, s, reqs)
	for i := 1; i < n-1; i++ {
		if reqs[i].Message.QueueSeq <= reqs[i-1].Message.QueueSeq {
			t.Fatalf("queue order broken at %d: %d after %d", i, reqs[i].Message.QueueSeq, reqs[i-1].Message.QueueSeq)
		}
	}
	if !res[n-1].Duplicate || res[n-1].MessageID != res[3].MessageID {
		t.Fatalf("repeat across ops: %+v, first %+v", res[n-1], res[3])
	}
	got := next(t, s, []string{"viettel"}, n)
	if len(got) != n-1 || got[0].ID != reqs[0].Message.ID || got[n-2].ID != reqs[n-2].Message.ID {
		t.Fatalf("queued %d, want %d in order", len(got), n-1)
	}
}

// TestWritePhaseMetrics: each answered write is timed by phase, under its
// class, and the phases add up to the whole write.
func TestWritePhaseMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openStoreOn(t, testConfig(t), reg)
	otp := newMessage("otp-1", "viettel", core.KindOTP, 1)
	mustAccept(t, s, []core.AcceptRequest{{Message: otp}})
	mustAccept(t, s, approvals("ph", "viettel", 3))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{} // class → sum of its phases
	counts := map[string]uint64{}
	total := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			h := m.GetHistogram()
			switch mf.GetName() {
			case "vneidgw_store_write_phase_seconds":
				sums[labels["class"]] += h.GetSampleSum()
				counts[labels["class"]+"/"+labels["phase"]] = h.GetSampleCount()
			case "vneidgw_store_write_duration_seconds":
				total[labels["class"]] = h.GetSampleSum()
			}
		}
	}
	for _, class := range []string{"express", "bulk"} {
		for _, ph := range []string{"queue", "apply", "commit", "finish"} {
			if counts[class+"/"+ph] != 1 {
				t.Errorf("%s/%s: %d observations, want 1", class, ph, counts[class+"/"+ph])
			}
		}
		if d := total[class] - sums[class]; d < -1e-9 || d > 1e-3 {
			t.Errorf("%s: phases sum to %v, the write took %v", class, sums[class], total[class])
		}
	}
}

// TestExpressAnsweredBeforeEarlierBatches: an express batch is answered
// once its own commit is on disk, while the finisher is still busy with an
// earlier batch's effects; but a batch offering OTPs waits for an earlier
// batch that offers OTPs too (the scheduler takes a lane's offers in order).
func TestExpressAnsweredBeforeEarlierBatches(t *testing.T) {
	for _, tc := range []struct {
		name      string
		otpOffers bool // both batches offer OTPs
		early     bool // the express op is answered before the earlier batch
	}{
		{"no offers", false, true},
		{"both offer OTPs", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, testConfig(t))
			inEffect, release := make(chan struct{}), make(chan struct{})
			first := make(chan error, 1)
			go func() {
				first <- s.submit(context.Background(), &op{items: 1, apply: func(b *batch) error {
					b.set([]byte("t/a"), []byte("1"))
					b.otpOffers = tc.otpOffers
					b.effect(func() {
						close(inEffect)
						<-release
					})
					return nil
				}})
			}()
			<-inEffect // the finisher is running the first batch's effect
			express := make(chan error, 1)
			go func() {
				express <- s.submit(context.Background(), &op{items: 1, class: classExpress, apply: func(b *batch) error {
					b.set([]byte("t/b"), []byte("2"))
					b.otpOffers = tc.otpOffers
					return nil
				}})
			}()
			select {
			case err := <-express:
				if err != nil {
					t.Fatal(err)
				}
				if !tc.early {
					t.Fatal("a batch offering OTPs was answered before an earlier one offering OTPs")
				}
			case <-time.After(time.Second):
				if tc.early {
					t.Error("the express op waited for an earlier batch's effects")
				}
			}
			close(release)
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if !tc.early {
				if err := <-express; err != nil {
					t.Fatal(err)
				}
			}
			// Both are on disk.
			if err := s.db.View(func(txn *badger.Txn) error {
				for _, k := range []string{"t/a", "t/b"} {
					if _, err := txn.Get([]byte(k)); err != nil {
						return fmt.Errorf("%s: %w", k, err)
					}
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
}

// A normal batch lets a waiting express op in between two of its ops: the
// ops it had taken but not applied go first in the next batch, in order.
func TestExpressCutsIntoABatch(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	var mu sync.Mutex
	var order []string
	note := func(name string) {
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
	}
	blockX, inA := make(chan struct{}), make(chan struct{})
	bulk := func(name string, apply func()) *op {
		return &op{items: 1, apply: func(b *batch) error {
			note(name)
			b.set([]byte("t/"+name), []byte(name))
			if apply != nil {
				apply()
			}
			return nil
		}}
	}
	var wg sync.WaitGroup
	run := func(o *op) {
		wg.Go(func() {
			if err := s.submit(ctx, o); err != nil {
				t.Error(err)
			}
		})
	}
	// X holds the writer while A, then B, queue up behind it: the next
	// batch takes both.
	run(bulk("X", func() { <-blockX }))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("X was not applied")
		}
	}
	run(bulk("A", func() {
		close(inA)
		// Until the express op below is waiting for the writer.
		deadline := time.Now().Add(5 * time.Second)
		for s.expressWaiting.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}))
	time.Sleep(50 * time.Millisecond)
	run(bulk("B", nil))
	time.Sleep(50 * time.Millisecond)
	close(blockX)
	<-inA
	run(&op{items: 1, class: classExpress, apply: func(b *batch) error {
		note("E")
		b.set([]byte("t/E"), []byte("E"))
		return nil
	}})
	wg.Wait()
	if got := strings.Join(order, ""); got != "XAEB" {
		t.Errorf("apply order %s, want XAEB (the express op between A and B)", got)
	}
	if err := s.db.View(func(txn *badger.Txn) error {
		for _, k := range []string{"X", "A", "B", "E"} {
			if _, err := txn.Get([]byte("t/" + k)); err != nil {
				return fmt.Errorf("t/%s: %w", k, err)
			}
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// TestEventsStartWhileBulkCommits: with maxInflight bulk batches still
// committing, queued events start a batch of their own (they free the
// gateway's unsettled slots once on disk), without the bulk op queued
// behind them.
func TestEventsStartWhileBulkCommits(t *testing.T) {
	s := openStore(t, testConfig(t))
	hold := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // before Close, on failure too
	held := make(chan struct{}, maxInflight)
	s.holdCommit = func(f *inflight) <-chan struct{} {
		if f.ops[0].class == classBulk && len(held) < maxInflight {
			held <- struct{}{}
			return hold
		}
		return nil
	}
	applied, mk := namedOps()
	var done []<-chan error
	for i := range maxInflight {
		ch := make(chan error, 1)
		o := mk(fmt.Sprint("bulk", i), classBulk)
		go func() { ch <- s.submit(context.Background(), o) }()
		done = append(done, ch)
		if got := <-applied; got != fmt.Sprint("bulk", i) {
			t.Fatalf("applied %s", got)
		}
	}
	for range maxInflight {
		<-held
	}
	done = append(done, queuedOp(t, s, mk("bulk-queued", classBulk)))
	ev := make(chan error, 1)
	go func() { ev <- s.submit(context.Background(), mk("event", classEvent)) }()
	select {
	case got := <-applied:
		if got != "event" {
			t.Fatalf("applied %s while %d bulk batches commit, want the event", got, maxInflight)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("the event waited for %d bulk batches to commit", maxInflight)
	}
	select {
	case got := <-applied:
		t.Fatalf("applied %s beyond maxInflight", got)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	for _, ch := range append(done, ev) {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
}

// TestBulkStartsWhileEventBatchesCommit: batches of events only do not
// count against maxInflight. With maxEventInflight of them still
// committing and no normal batch in flight, a bulk op starts a batch at
// once (when they counted, the event-only batches the gateway keeps
// starting held the bulk back, and accepts ran at half the disk's rate).
func TestBulkStartsWhileEventBatchesCommit(t *testing.T) {
	s := openStore(t, testConfig(t))
	holdBulk, holdEvents := make(chan struct{}), make(chan struct{})
	var onceBulk, onceEvents sync.Once
	releaseBulk := func() { onceBulk.Do(func() { close(holdBulk) }) }
	releaseEvents := func() { onceEvents.Do(func() { close(holdEvents) }) }
	t.Cleanup(releaseBulk) // before Close, on failure too
	t.Cleanup(releaseEvents)
	held := make(chan opClass, maxInflight+maxEventInflight)
	s.holdCommit = func(f *inflight) <-chan struct{} {
		switch c := f.ops[0].class; {
		case c == classBulk && len(held) < maxInflight:
			held <- c
			return holdBulk
		case c == classEvent && len(held) < maxInflight+maxEventInflight:
			held <- c
			return holdEvents
		}
		return nil
	}
	applied, mk := namedOps()
	submit := func(o *op) <-chan error {
		ch := make(chan error, 1)
		go func() { ch <- s.submit(context.Background(), o) }()
		return ch
	}
	want := func(name string) {
		t.Helper()
		select {
		case got := <-applied:
			if got != name {
				t.Fatalf("applied %s, want %s", got, name)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s was not applied", name)
		}
	}
	var done []<-chan error
	// maxInflight normal batches, held; then event-only batches, held.
	for i := range maxInflight {
		done = append(done, submit(mk(fmt.Sprint("bulk", i), classBulk)))
		want(fmt.Sprint("bulk", i))
	}
	for i := range maxEventInflight {
		done = append(done, submit(mk(fmt.Sprint("event", i), classEvent)))
		want(fmt.Sprint("event", i))
	}
	for range maxInflight + maxEventInflight {
		<-held
	}
	// The normal batches commit and leave; the event-only ones stay.
	releaseBulk()
	for _, ch := range done[:maxInflight] {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	done = done[maxInflight:]
	done = append(done, submit(mk("bulk-next", classBulk)))
	want("bulk-next")
	releaseEvents()
	for _, ch := range done {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
}

// namedOps returns a maker of ops of smallBatch items that report their
// name on applied when the writer applies them.
func namedOps() (applied chan string, mk func(name string, class opClass) *op) {
	applied = make(chan string, 8)
	mk = func(name string, class opClass) *op {
		return &op{items: smallBatch, class: class, apply: func(b *batch) error {
			applied <- name
			return nil
		}}
	}
	return applied, mk
}
