package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vneidgw/core"
)

// memQueue is an in-memory core.Queue: lanes per operator and priority,
// leases, Retry to the head of the lane at a due time, Record applying
// events to a master copy (Next hands out copies, as a real store would).
type memQueue struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	seq     uint64
	master  map[string]*core.Message
	lanes   map[string]*[core.NumPriorities]lane
	leased  map[string]bool
	done    map[string]bool // left the queue
	events  []core.Event
	leases  int
	retries int

	// hooks
	recordGate chan struct{} // if set, Record of DLR events waits for it
	// holdApprovals, if set, makes Record of a batch holding an approval's
	// submit wait for it (the main sender then runs out of unsettled slots).
	holdApprovals chan struct{}
	recordErr     error
	recordFails   int             // fail this many Record calls first
	submittedBy   map[partKey]int // EventSubmitted count per part
}

type partKey struct {
	id   string
	part int
}

// lane is one operator+priority: retries (due at a time) before fresh
// messages in accept order.
type lane struct {
	retry []*qitem
	fresh []*core.Message
}

type qitem struct {
	m   *core.Message
	due time.Time
}

func newMemQueue() *memQueue {
	return &memQueue{
		changed:     make(chan struct{}),
		master:      map[string]*core.Message{},
		lanes:       map[string]*[core.NumPriorities]lane{},
		leased:      map[string]bool{},
		done:        map[string]bool{},
		submittedBy: map[partKey]int{},
	}
}

func (q *memQueue) signalLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func cloneMsg(m *core.Message) *core.Message {
	c := *m
	c.Parts = slices.Clone(m.Parts)
	c.History = nil
	return &c
}

func (q *memQueue) laneLocked(op string, p core.Priority) *lane {
	l, ok := q.lanes[op]
	if !ok {
		l = new([core.NumPriorities]lane)
		q.lanes[op] = l
	}
	return &l[p]
}

// put queues a message (its Parts from the text, as the store does at accept).
func (q *memQueue) put(m *core.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	m.QueueSeq = q.seq
	if m.Status == "" {
		m.Status = core.StatusQueued
	}
	if m.Parts == nil {
		_, n := core.CountParts(m.Text)
		m.Parts = make([]core.PartState, n)
		for i := range m.Parts {
			m.Parts[i].Status = core.StatusQueued
		}
	}
	q.master[m.ID] = m
	l := q.laneLocked(m.Operator, m.Priority)
	l.fresh = append(l.fresh, m)
	q.signalLocked()
}

func (q *memQueue) Next(ctx context.Context, operators []string, max int) ([]*core.Message, error) {
	return q.NextRange(ctx, operators, 0, core.NumPriorities-1, max)
}

// NextRange serves the lanes of priority from to upTo only (the express
// sender's OTP lane, the main sender's others), like core/store.
func (q *memQueue) NextRange(ctx context.Context, operators []string, from, upTo core.Priority, max int) ([]*core.Message, error) {
	for {
		q.mu.Lock()
		now := time.Now()
		var out []*core.Message
		var wake time.Time
		for p := range core.Priority(core.NumPriorities) {
			if p < from {
				continue
			}
			if p > upTo {
				break
			}
			for _, op := range operators {
				l := q.laneLocked(op, p)
				keep := l.retry[:0]
				for _, it := range l.retry {
					switch {
					case len(out) < max && !it.due.After(now):
						out = append(out, it.m)
					default:
						if it.due.After(now) && (wake.IsZero() || it.due.Before(wake)) {
							wake = it.due
						}
						keep = append(keep, it)
					}
				}
				clear(l.retry[len(keep):])
				l.retry = keep
				k := min(max-len(out), len(l.fresh))
				out = append(out, l.fresh[:k]...)
				clear(l.fresh[:k])
				l.fresh = l.fresh[k:]
			}
		}
		if len(out) > 0 {
			for i, m := range out {
				q.leased[m.ID] = true
				out[i] = cloneMsg(m)
			}
			q.leases += len(out)
			q.mu.Unlock()
			return out, nil
		}
		ch := q.changed
		q.mu.Unlock()
		var tc <-chan time.Time
		if !wake.IsZero() {
			t := time.NewTimer(time.Until(wake))
			defer t.Stop()
			tc = t.C
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-tc:
		}
	}
}

func (q *memQueue) Retry(m *core.Message, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.leased[m.ID] {
		panic(fmt.Sprintf("memQueue: Retry of %s which is not leased", m.ID))
	}
	delete(q.leased, m.ID)
	q.retries++
	ms := q.master[m.ID]
	ms.Attempts = m.Attempts
	l := q.laneLocked(ms.Operator, ms.Priority)
	l.retry = append(l.retry, &qitem{m: ms, due: at})
	q.signalLocked()
}

func (q *memQueue) Record(ctx context.Context, events []core.Event) error {
	if q.holdApprovals != nil && slices.ContainsFunc(events, func(e core.Event) bool {
		return e.Kind == core.EventSubmitted && !strings.HasPrefix(e.MessageID, "otp")
	}) {
		select {
		case <-q.holdApprovals:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if q.recordGate != nil && slices.ContainsFunc(events, func(e core.Event) bool { return e.Kind == core.EventDLR }) {
		select {
		case <-q.recordGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.recordErr != nil {
		return q.recordErr
	}
	if q.recordFails > 0 {
		q.recordFails--
		return core.Errorf(core.EUNAVAILABLE, "store busy")
	}
	for _, e := range events {
		q.events = append(q.events, e)
		m := q.master[e.MessageID]
		if m == nil {
			continue
		}
		switch e.Kind {
		case core.EventSubmitted:
			q.submittedBy[partKey{e.MessageID, e.Part}]++
			if p := &m.Parts[e.Part-1]; p.Status == core.StatusQueued || p.Status == core.StatusUnknown {
				p.Status, p.SMSCID = core.StatusSubmitted, e.SMSCID
			}
		case core.EventUnknown:
			if p := &m.Parts[e.Part-1]; p.Status == core.StatusQueued {
				p.Status = core.StatusUnknown
			}
		case core.EventRejected:
			m.Status = core.StatusRejected
		case core.EventExpired:
			m.Status = core.StatusExpired
		}
		if q.leased[m.ID] {
			settled := m.Status.Final()
			if !settled {
				settled = true
				for _, p := range m.Parts {
					if p.Status == core.StatusQueued {
						settled = false
					}
				}
			}
			if settled {
				delete(q.leased, m.ID)
				q.done[m.ID] = true
			}
		}
	}
	q.signalLocked()
	return nil
}

func (q *memQueue) Backlog() map[string][core.NumPriorities]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string][core.NumPriorities]int{}
	for op, l := range q.lanes {
		var v [core.NumPriorities]int
		for p := range l {
			v[p] = len(l[p].retry) + len(l[p].fresh)
		}
		if v != ([core.NumPriorities]int{}) {
			out[op] = v
		}
	}
	return out
}

func (q *memQueue) queuedLocked() int {
	n := 0
	for _, l := range q.lanes {
		for p := range l {
			n += len(l[p].retry) + len(l[p].fresh)
		}
	}
	return n
}

// waitFor waits until cond (called under the lock) holds.
func (q *memQueue) waitFor(t testing.TB, d time.Duration, what string, cond func(q *memQueue) bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		q.mu.Lock()
		ok := cond(q)
		ch := q.changed
		q.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			q.mu.Lock()
			defer q.mu.Unlock()
			t.Fatalf("timeout waiting for %s: done=%d leased=%d queued=%d events=%d", what, len(q.done), len(q.leased), q.queuedLocked(), len(q.events))
		}
	}
}

func (q *memQueue) waitDone(t testing.TB, n int, d time.Duration) {
	t.Helper()
	q.waitFor(t, d, fmt.Sprintf("%d messages done", n), func(q *memQueue) bool { return len(q.done) >= n })
}

func (q *memQueue) eventsOf(kind core.EventKind) []core.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []core.Event
	for _, e := range q.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (q *memQueue) countEvents(kind core.EventKind) int {
	n := 0
	for _, e := range q.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

var _ core.Queue = (*memQueue)(nil)
