package gateway

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"vneidgw/core"
	"vneidgw/gateway/smscsim"
)

// startedQueue is a memQueue that can start a Record and settle it later
// (as core/store's Store does): events are applied in the order Records are
// started; wait blocks until released.
type startedQueue struct {
	*memQueue
	started atomic.Int32
	release chan struct{}
}

func (q *startedQueue) RecordStart(ctx context.Context, events []core.Event) (func() error, error) {
	err := q.memQueue.Record(ctx, events)
	q.started.Add(1)
	return func() error { <-q.release; return err }, nil
}

// TestCompleterPipelinesRecords: while the first Record is not yet on disk
// the completer starts the next ones (so outcomes do not wait for an
// earlier commit), yet the unsettled slots stay held until each settles:
// no more parts than the window reach the SMSC unrecorded.
func TestCompleterPipelinesRecords(t *testing.T) {
	// Receipts come well after the responses, so they form a round of
	// their own however late the completer runs (with both in one round
	// there is no second Record to start: the test flaked once under load).
	sim := startSim(t, smscsim.Config{DLRDelay: 300 * time.Millisecond})
	q := &startedQueue{memQueue: newMemQueue(), release: make(chan struct{})}
	const n = 100
	for i := range n {
		m := newMsg(fmt.Sprintf("p%03d", i), "viettel", core.KindApproval, fmt.Sprintf("short notice %d", i))
		m.To = fmt.Sprintf("849%08d", i)
		q.put(m)
	}
	g := newTestGateway(t, simConfig(sim, func(b *BindConfig) { b.Window = 16 }), q)
	startGateway(t, g)
	deadline := time.Now().Add(10 * time.Second)
	for q.started.Load() < 2 {
		if time.Now().After(deadline) {
			close(q.release)
			t.Fatalf("%d Records started while the first was not settled: the completer waits for each commit", q.started.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if got := sim.Stats().Parts; got > 16 {
		close(q.release)
		t.Fatalf("%d parts sent while no outcome was settled (window 16)", got)
	}
	close(q.release)
	q.waitDone(t, n, 20*time.Second)
	waitDLRs(t, q.memQueue, n, 20*time.Second)
	if st := sim.Stats(); st.Parts != n || st.Duplicates != 0 {
		t.Fatalf("sim stats %+v", st)
	}
}
