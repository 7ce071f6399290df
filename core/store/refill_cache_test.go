package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"vneidgw/core"
)

// cachedIDs returns, read on the writer, which of ids mcache holds.
func cachedIDs(t *testing.T, s *Store, ids []string) []string {
	t.Helper()
	var got []string
	err := s.submit(context.Background(), &op{items: 1, apply: func(*batch) error {
		for _, id := range ids {
			if _, ok := s.mcache.get(id); ok {
				got = append(got, id)
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRefilledRecordsServeEvents: messages spilled to disk and read back by
// the refiller are in the message cache when their events come (before,
// each event read its record from Badger again), and the cache stays
// consistent through their events.
func TestRefilledRecordsServeEvents(t *testing.T) {
	cfg := testConfig(t)
	cfg.ApprovalLaneCap = 4
	cfg.MessageCache = 8 // 32 accepted, 32 refilled, 8 active
	s := openStore(t, cfg)
	reqs := approvals("sp", "vina", 24)
	mustAccept(t, s, reqs) // 4 in memory, 20 on disk
	var all []string
	for _, r := range reqs {
		all = append(all, r.Message.ID)
	}
	// Accepted: only those the lane keeps in memory are cached.
	if got := cachedIDs(t, s, all); !slices.Equal(got, all[:4]) {
		t.Fatalf("cached after accept: %v", got)
	}
	var leased []*core.Message
	for len(leased) < 24 {
		leased = append(leased, next(t, s, []string{"vina"}, 4)...)
	}
	spilled := ids(leased[4:])
	got := cachedIDs(t, s, spilled)
	if len(got) != len(spilled) {
		t.Fatalf("%d of %d refilled messages cached: %v", len(got), len(spilled), got)
	}
	checkCaches(t, s)
	var evs []core.Event
	for i, m := range leased {
		for p := 1; p <= 2; p++ {
			id := fmt.Sprintf("sp%d-%d", i, p)
			evs = append(evs, submitted(m.ID, p, id), dlr(id, core.StatusDelivered))
		}
	}
	mustRecord(t, s, evs...)
	checkCaches(t, s)
	for _, m := range leased {
		if got := mustMessage(t, s, m.ID); got.Status != core.StatusDelivered {
			t.Fatalf("%s: %s", m.ID, got.Status)
		}
	}
	if got := cachedIDs(t, s, ids(leased)); len(got) != 0 {
		t.Fatalf("final messages still cached: %v", got)
	}
}

// TestRefilledRecordWrittenMeanwhile: a record the refiller read from its
// snapshot, then written by a batch the snapshot did not see, must not
// enter the cache (a later event would apply to the stale copy and undo
// that write).
func TestRefilledRecordWrittenMeanwhile(t *testing.T) {
	cfg := testConfig(t)
	cfg.ApprovalLaneCap = 4
	cfg.MessageCache = 8
	s := openStore(t, cfg)
	const victim = "wm-000005" // in the first scan (4–7)
	recorded := make(chan error, 1)
	first := true
	s.scanHook = func() {
		if first {
			first = false
			// Final: the writer drops it from the cache, so only the stamp
			// keeps the refiller's stale copy out.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			recorded <- s.Record(ctx, []core.Event{{Kind: core.EventRejected, MessageID: victim}})
		}
	}
	mustAccept(t, s, approvals("wm", "vina", 24))
	var leased []string
	for len(leased) < 23 {
		leased = append(leased, ids(next(t, s, []string{"vina"}, 4))...)
	}
	if err := <-recorded; err != nil {
		t.Fatal(err)
	}
	for _, id := range leased {
		if id == victim {
			t.Fatalf("%s leased after it was rejected", victim)
		}
	}
	if got := cachedIDs(t, s, []string{victim}); len(got) != 0 {
		t.Fatalf("stale record of %s cached", victim)
	}
	checkCaches(t, s)
	// An event for it now must see it rejected, not queued.
	mustRecord(t, s, submitted(victim, 1, "late"))
	if m := mustMessage(t, s, victim); m.Status != core.StatusRejected {
		t.Fatalf("%s: %s", victim, m.Status)
	}
}

func TestRefillCacheStamps(t *testing.T) {
	var c refillCache
	c.init()
	var mc kvCache
	mc.init(1, 4, 4)
	c.stampMessage("q/not-a-message", 9) // ignored
	c.stampMessage(pfxMessage+"a", 5)
	c.hand([]refilled{
		{id: "a", raw: []byte{1}, visible: 4}, // written by batch 5 since
		{id: "b", raw: []byte{2}, visible: 4},
		{id: "c", raw: []byte{3}, visible: 4},
	})
	mc.put("c", []byte{7}, 0, segActive) // the writer's value wins
	c.drainInto(&mc)
	if _, ok := mc.get("a"); ok {
		t.Fatal("stale record cached")
	}
	if e, ok := mc.get("b"); !ok || e.v[0] != 2 || e.seg != segRefilled {
		t.Fatalf("b: %+v %v", e, ok)
	}
	if e, _ := mc.get("c"); e.v[0] != 7 || e.seg != segActive {
		t.Fatalf("c: %+v", e)
	}
	c.hand([]refilled{{id: "a", raw: []byte{4}, visible: 5}})
	c.drainInto(&mc)
	if e, ok := mc.get("a"); !ok || e.v[0] != 4 {
		t.Fatalf("a read after its write: %+v %v", e, ok)
	}
}
