package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"vneidgw/core"
)

// checkCaches asserts, on the writer, that every cached message record and
// correlation value equals what a batch reads from the overlays and disk.
func checkCaches(t *testing.T, s *Store) {
	t.Helper()
	var bad []string
	err := s.submit(context.Background(), &op{items: 1, apply: func(b *batch) error {
		for id, e := range s.mcache.vals {
			v, ok, err := b.get(messageKey(id))
			if err != nil {
				return err
			}
			if !ok || !bytes.Equal(v, e.v) {
				bad = append(bad, "m/"+id)
			}
		}
		for k, e := range s.ccache.vals {
			v, ok, err := b.get([]byte(k))
			if err != nil {
				return err
			}
			if !ok || !bytes.Equal(v, e.v) {
				bad = append(bad, k)
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("stale cache entries: %v", bad)
	}
}

func TestRecordCachesConsistent(t *testing.T) {
	cfg := testConfig(t)
	cfg.MessageCache = 8 // small: evictions happen
	s := openStore(t, cfg)
	ctx := context.Background()
	for round := 0; round < 4; round++ {
		reqs := approvals(fmt.Sprintf("c%d", round), "viettel", 12)
		mustAccept(t, s, reqs)
		checkCaches(t, s)
		ms := next(t, s, []string{"viettel"}, 12)
		var sub, early, late []core.Event
		for i, m := range ms {
			for p := 1; p <= 2; p++ {
				id := fmt.Sprintf("%d-%s-%d", round, m.ID, p)
				sub = append(sub, submitted(m.ID, p, id))
				switch {
				case i%4 == 0:
					early = append(early, dlr(id, core.StatusDelivered))
				case i%4 == 1 && p == 2:
					late = append(late, core.Event{Kind: core.EventRejected, MessageID: m.ID, Part: 2})
				case i%4 == 2:
					late = append(late, dlr(id, core.StatusSubmitted), dlr(id, core.StatusUndeliverable))
				default:
					late = append(late, dlr(id, core.StatusDelivered))
				}
			}
		}
		mustRecord(t, s, early...)
		checkCaches(t, s)
		// Two concurrent writers: their ops share batches.
		errc := make(chan error, 2)
		go func() { errc <- s.Record(ctx, sub[:len(sub)/2]) }()
		go func() { errc <- s.Record(ctx, sub[len(sub)/2:]) }()
		for i := 0; i < 2; i++ {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		checkCaches(t, s)
		mustRecord(t, s, late...)
		checkCaches(t, s)
		for i, m := range ms {
			got := mustMessage(t, s, m.ID)
			want := map[int]core.Status{0: core.StatusDelivered, 1: core.StatusRejected, 2: core.StatusUndeliverable, 3: core.StatusDelivered}[i%4]
			if got.Status != want {
				t.Fatalf("round %d %s: %s, want %s", round, m.ID, got.Status, want)
			}
		}
	}
	if len(s.mcache.vals) > 8+2 || len(s.ccache.vals) > 16 {
		t.Fatalf("caches over their bounds: %d %d", len(s.mcache.vals), len(s.ccache.vals))
	}
}

// A failed op leaves nothing of its changes in the caches: without the
// roll-back, the correlation "s1" would resolve the receipt below.
func TestRecordCachesFailedOp(t *testing.T) {
	s := openStore(t, testConfig(t))
	acceptAndLease(t, s, "x", 1)
	if err := s.db.Update(func(txn *badgerTxn) error {
		return txn.Set(correlationKey("viettel", "bad"), []byte{0})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(context.Background(), []core.Event{submitted("x", 1, "s1"), dlr("bad", core.StatusDelivered)}); err == nil {
		t.Fatal("corrupt correlation accepted")
	}
	checkCaches(t, s)
	if m := mustMessage(t, s, "x"); m.Status != core.StatusQueued || len(m.History) != 1 {
		t.Fatalf("failed op left %+v", m)
	}
	mustRecord(t, s, dlr("s1", core.StatusDelivered))
	if m := mustMessage(t, s, "x"); m.Status != core.StatusQueued {
		t.Fatalf("receipt resolved by a rolled-back correlation: %s", m.Status)
	}
	mustRecord(t, s, submitted("x", 1, "s1"))
	if m := mustMessage(t, s, "x"); m.Status != core.StatusDelivered || len(m.History) != 3 {
		t.Fatalf("after submit: %+v", m)
	}
	checkCaches(t, s)
	if _, ok := s.mcache.get("x"); ok {
		t.Fatal("final message still cached")
	}
}

// Receipts that overtake their response, in every id form, and across a
// restart (the pending index is rebuilt from disk).
func TestPendingDLRForms(t *testing.T) {
	for _, tc := range []struct {
		name, submit, receipt string
	}{
		{"same", "A1B2C3", "a1b2c3"},
		{"hex submit, decimal receipt", "1A2B", "6699"},
		{"decimal submit, hex receipt", "000123", "7B"},
		{"hex with leading zeros", "00ff", "255"},
		{"long decimal", "12345678901234567890123", "29d42b64e76714244cb"},
		{"very long", "1234567890123456789012345678901234567890123456789", "1234567890123456789012345678901234567890123456789"},
	} {
		for _, restart := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s restart=%v", tc.name, restart), func(t *testing.T) {
				cfg := testConfig(t)
				s := openStore(t, cfg)
				acceptAndLease(t, s, "m", 1)
				mustRecord(t, s, dlr(tc.receipt, core.StatusDelivered))
				if restart {
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s = openStore(t, cfg)
				}
				mustRecord(t, s, submitted("m", 1, tc.submit))
				if m := mustMessage(t, s, "m"); m.Status != core.StatusDelivered {
					t.Fatalf("status %s", m.Status)
				}
				if len(s.pending.m) != 0 {
					t.Fatalf("pending index left: %v", s.pending.m)
				}
			})
		}
	}
}

func TestPendingIndexExpiry(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var x pendingIndex
	x.init(func() time.Time { return now })
	x.add("viettel", "7b", now.Add(time.Hour))
	for _, id := range []string{"7b", "123"} {
		if !x.mayHave("viettel", id) {
			t.Fatalf("%s not indexed", id)
		}
	}
	if x.mayHave("mobifone", "7b") || x.mayHave("viettel", "7c") {
		t.Fatal("false match")
	}
	now = now.Add(time.Hour + pendMargin + time.Second)
	if x.mayHave("viettel", "7b") {
		t.Fatal("expired entry still matches")
	}
	x.add("viettel", "1", now.Add(time.Hour)) // sweeps
	if _, ok := x.m[pendKey{"viettel", "7b"}]; ok {
		t.Fatal("expired entry not swept")
	}
	x.remove("viettel", "1")
	if len(x.m) != 0 {
		t.Fatalf("left %v", x.m)
	}
}

func TestReportsWanted(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReportsWanted = false
	s := openStore(t, cfg)
	acceptAndLease(t, s, "quiet", 1)
	m := newMessage("cb", "viettel", core.KindOTP, 1)
	m.CallbackURL = "https://example.test/cb"
	mustAccept(t, s, []core.AcceptRequest{{Message: m}})
	next(t, s, []string{"viettel"}, 1)
	mustRecord(t, s, submitted("quiet", 1, "q1"), submitted("cb", 1, "c1"))
	mustRecord(t, s, dlr("q1", core.StatusDelivered), dlr("c1", core.StatusDelivered))
	if m := mustMessage(t, s, "quiet"); m.Status != core.StatusDelivered {
		t.Fatalf("status %s", m.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	reps, err := s.PendingReports(ctx, 5)
	if err != nil || len(reps) != 1 || reps[0].MessageID != "cb" {
		t.Fatalf("%+v %v", reps, err)
	}
}

func TestKVCacheBound(t *testing.T) {
	var c kvCache
	c.init(2, 1, 3)
	for i := 0; i < 10; i++ {
		c.put(fmt.Sprint("a", i), []byte{1}, 0, segAccepted)
		c.put(fmt.Sprint("b", i), []byte{1}, 0, segActive)
		if i%2 == 0 {
			c.put(fmt.Sprint("a", i), []byte{2}, 0, segActive) // promoted
		}
		if len(c.vals) > 5 {
			t.Fatalf("%d entries", len(c.vals))
		}
	}
	if e, ok := c.get("b9"); !ok || e.v[0] != 1 {
		t.Fatal("newest entry evicted")
	}
	c.reset()
	if len(c.vals) != 0 {
		t.Fatal("reset")
	}
}

// An SMSC id reused within one op: the op's own correlation write wins
// over the cached one.
func TestRecordCachesReusedSMSCID(t *testing.T) {
	s := openStore(t, testConfig(t))
	acceptAndLease(t, s, "a", 1)
	mustRecord(t, s, submitted("a", 1, "r"))
	mustRecord(t, s, dlr("r", core.StatusDelivered))
	acceptAndLease(t, s, "b", 1)
	mustRecord(t, s, submitted("b", 1, "r"), dlr("r", core.StatusDelivered))
	if m := mustMessage(t, s, "b"); m.Status != core.StatusDelivered {
		t.Fatalf("b %s", m.Status)
	}
	checkCaches(t, s)
}

// TestKVCacheKeysOwnTheirBytes: a key that points into a record (a decoded
// message's ID) is copied, so the rings and the map, which keep keys after
// their values change or leave, hold no record alive.
func TestKVCacheKeysOwnTheirBytes(t *testing.T) {
	var c kvCache
	c.init(2, 2, 2)
	rec := []byte("msg-0001 and the rest of a large record")
	k := unsafe.String(&rec[0], 8)
	c.put(k, []byte{1}, 0, segAccepted)
	c.put(k, []byte{2}, 0, segActive)
	for seg := range c.segs {
		for _, id := range c.segs[seg].ids {
			if id != "" && unsafe.StringData(id) == &rec[0] {
				t.Fatalf("segment %d keeps the record's bytes", seg)
			}
		}
	}
	for id := range c.vals {
		if unsafe.StringData(id) == &rec[0] {
			t.Fatal("the map keeps the record's bytes")
		}
	}
}
