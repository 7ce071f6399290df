package store

import (
	"container/heap"
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"vneidgw/core"
)

// The scheduler hands queued messages to senders. Per (operator, priority)
// lane it keeps an in-memory FIFO of at most cap messages, in QueueSeq
// order, and a disk cursor: the highest QueueSeq loaded into memory. When
// a message is accepted and the FIFO is full (or messages are already
// waiting on disk), the lane is marked spilled and the message stays on
// disk; Next refills the FIFO by seeking q/<op>/<prio>/<cursor+1>.
//
// The writer commits queue keys in QueueSeq order and offers them to the
// scheduler only after the commit, so a refill scan (done under mu) sees a
// prefix of the lane; an offer of a key at or below the cursor was already
// loaded by a scan and is skipped.

type laneKey struct {
	op   string
	prio core.Priority
}

type lane struct {
	laneKey
	fifo    []*core.Message // fifo[head:] are waiting, ascending QueueSeq
	head    int
	cap     int
	spilled bool
	cursor  uint64
	ready   []*core.Message // retries that are due, served before fifo
	count   int             // queued, not leased: fifo + ready + delayed + on disk
	gauge   prometheus.Gauge

	// While the refiller scans the lane without the lock (refill.go):
	// whether a message was offered meanwhile (its key may be missing from
	// the scan's snapshot) and which queue keys were deleted meanwhile
	// (the snapshot may still hold them).
	refilling     bool
	offeredDuring bool
	removedDuring map[uint64]struct{}
}

func (l *lane) len() int { return len(l.fifo) - l.head }

func (l *lane) push(m *core.Message) {
	if l.head > 0 && len(l.fifo) == cap(l.fifo) {
		n := copy(l.fifo, l.fifo[l.head:])
		clear(l.fifo[n:])
		l.fifo = l.fifo[:n]
		l.head = 0
	}
	l.fifo = append(l.fifo, m)
}

func (l *lane) pop() *core.Message {
	m := l.fifo[l.head]
	l.fifo[l.head] = nil
	l.head++
	if l.head == len(l.fifo) {
		l.fifo, l.head = l.fifo[:0], 0
	}
	return m
}

type delayed struct {
	at  time.Time
	seq uint64
	m   *core.Message
}

type delayHeap []delayed

func (h delayHeap) Len() int { return len(h) }
func (h delayHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h delayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)   { *h = append(*h, x.(delayed)) }
func (h *delayHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = delayed{}
	*h = old[:len(old)-1]
	return x
}

type scheduler struct {
	s       *Store
	mu      sync.Mutex
	lanes   map[laneKey]*lane
	delays  delayHeap
	signal  chan struct{} // closed and replaced to wake waiters
	waiters int
	// refillKick asks the refiller (refill.go) to look for lanes to load.
	refillKick chan struct{}
}

func (q *scheduler) init(s *Store) {
	q.s = s
	q.lanes = make(map[laneKey]*lane)
	q.signal = make(chan struct{})
	q.refillKick = make(chan struct{}, 1)
}

// lane returns (creating) a lane; mu held (or before start).
func (q *scheduler) lane(op string, prio core.Priority) *lane {
	k := laneKey{op, prio}
	l := q.lanes[k]
	if l == nil {
		l = &lane{laneKey: k, cap: q.laneCap(prio), gauge: q.s.metrics.backlog.WithLabelValues(op, priorityName(prio))}
		q.lanes[k] = l
	}
	return l
}

// laneCap is the length bound of a lane's memory FIFO.
func (q *scheduler) laneCap(prio core.Priority) int {
	if prio == core.PriorityApproval {
		return q.s.cfg.ApprovalLaneCap
	}
	return q.s.cfg.LaneCap
}

// wake wakes every blocked Next.
func (q *scheduler) wake() {
	q.mu.Lock()
	q.wakeLocked()
	q.mu.Unlock()
}

func (q *scheduler) wakeLocked() {
	if q.waiters > 0 {
		close(q.signal)
		q.signal = make(chan struct{})
	}
}

// offer is the post-commit effect of accepting m (a private copy).
func (q *scheduler) offer(m *core.Message) {
	q.mu.Lock()
	l := q.lane(m.Operator, m.Priority)
	l.count++
	l.gauge.Set(float64(l.count))
	switch {
	case m.QueueSeq <= l.cursor:
		// already loaded by a refill scan
	case !l.spilled && l.len() < l.cap:
		l.push(m)
		l.cursor = m.QueueSeq
	default:
		l.spilled = true
		if l.refilling {
			l.offeredDuring = true
		}
	}
	q.mu.Unlock()
}

// room returns how many more messages lane (op, prio) would keep in
// memory if offered now (0 once it is spilled to disk).
func (q *scheduler) room(op string, prio core.Priority) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lanes[laneKey{op, prio}]
	switch {
	case l == nil:
		return q.laneCap(prio)
	case l.spilled:
		return 0
	}
	return max(l.cap-l.len(), 0)
}

// removed is the post-commit effect of deleting a queue key while the
// message may still be waiting (e.g. it expired before being leased).
func (q *scheduler) removed(op string, prio core.Priority, seq uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lanes[laneKey{op, prio}]
	if l == nil {
		return
	}
	w := l.fifo[l.head:]
	i := sort.Search(len(w), func(i int) bool { return w[i].QueueSeq >= seq })
	switch {
	case i < len(w) && w[i].QueueSeq == seq:
		copy(w[i:], w[i+1:])
		l.fifo[len(l.fifo)-1] = nil
		l.fifo = l.fifo[:len(l.fifo)-1]
	case seq > l.cursor && l.spilled:
		// on disk, not loaded: its tombstone hides it from the next scan
		// (a scan under way may have seen it: it skips it when merging)
		if l.refilling {
			if l.removedDuring == nil {
				l.removedDuring = make(map[uint64]struct{})
			}
			l.removedDuring[seq] = struct{}{}
		}
	default:
		return // leased: already uncounted
	}
	l.count--
	l.gauge.Set(float64(l.count))
}

// promote moves due retries to the head of their lanes; mu held.
func (q *scheduler) promote(now time.Time) {
	for len(q.delays) > 0 && !q.delays[0].at.After(now) {
		d := heap.Pop(&q.delays).(delayed)
		l := q.lane(d.m.Operator, d.m.Priority)
		l.ready = append(l.ready, d.m)
	}
}

// take hands out up to max messages of the given lanes; mu held.
func (q *scheduler) take(operators []string, from, upTo core.Priority, max int) []*core.Message {
	var out []*core.Message
	lanes := make([]*lane, 0, len(operators))
	for p := from; p <= upTo && p < core.NumPriorities && len(out) < max; p++ {
		lanes = lanes[:0]
		for _, op := range operators {
			if l := q.lanes[laneKey{op, p}]; l != nil && l.count > 0 {
				lanes = append(lanes, l)
			}
		}
		for _, l := range lanes {
			for len(l.ready) > 0 && len(out) < max {
				out = append(out, l.ready[0])
				l.ready[0] = nil
				l.ready = l.ready[1:]
				l.count--
			}
		}
		for len(out) < max {
			var best *lane
			for _, l := range lanes {
				if l.len() > 0 && (best == nil || l.fifo[l.head].QueueSeq < best.fifo[best.head].QueueSeq) {
					best = l
				}
			}
			if best == nil {
				break
			}
			out = append(out, best.pop())
			best.count--
		}
		for _, l := range lanes {
			if l.spilled && !l.refilling && l.len() < l.cap/2 {
				q.kickRefill()
			}
			l.gauge.Set(float64(l.count))
		}
	}
	return out
}

// Next implements core.Queue.
func (s *Store) Next(ctx context.Context, operators []string, max int) ([]*core.Message, error) {
	return s.NextRange(ctx, operators, 0, core.NumPriorities-1, max)
}

// NextRange is Next restricted to the lanes of priority from to upTo: with
// an express sender on the OTP lane, the gateway's main sender leases the
// others only.
func (s *Store) NextRange(ctx context.Context, operators []string, from, upTo core.Priority, max int) ([]*core.Message, error) {
	if max <= 0 {
		max = 1
	}
	q := &s.sched
	var timer dueTimer
	defer timer.stop()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.mu.Lock()
		now := s.now()
		q.promote(now)
		if out := q.take(operators, from, upTo, max); len(out) > 0 {
			q.mu.Unlock()
			return out, nil
		}
		wait := q.signal
		q.waiters++
		var due <-chan time.Time
		if len(q.delays) > 0 {
			due = timer.after(q.delays[0].at.Sub(now))
		}
		q.mu.Unlock()
		stopped := s.wake(ctx, wait, due)
		q.mu.Lock()
		q.waiters--
		q.mu.Unlock()
		if stopped {
			return nil, errClosed()
		}
	}
}

// Retry implements core.Queue: m (leased from Next) goes back to the head
// of its lane (m.Operator, m.Priority, which the caller must not change)
// when at comes. A retry lives in memory; after a restart the message
// comes back from disk anyway.
func (s *Store) Retry(m *core.Message, at time.Time) {
	if m == nil {
		return
	}
	q := &s.sched
	q.mu.Lock()
	l := q.lane(m.Operator, m.Priority)
	l.count++
	l.gauge.Set(float64(l.count))
	heap.Push(&q.delays, delayed{at: at, seq: m.QueueSeq, m: m})
	woke := q.waiters > 0
	if woke {
		close(q.signal)
		q.signal = make(chan struct{})
	}
	q.mu.Unlock()
}

// Backlog implements core.Queue.
func (s *Store) Backlog() map[string][core.NumPriorities]int {
	q := &s.sched
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string][core.NumPriorities]int)
	for k, l := range q.lanes {
		v := out[k.op]
		v[k.prio] = l.count
		out[k.op] = v
	}
	return out
}
