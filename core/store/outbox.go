package store

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// The report outbox keeps reports on disk (r/<seq> → due time + report)
// and, in memory, a heap of (due, seq) rebuilt on Open. PendingReports pops
// due entries (a lease: the caller must ack or retry them; an unanswered
// lease comes back after a restart).

type dueSeq struct {
	at  int64 // unix nanos
	seq uint64
}

type dueHeap []dueSeq

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueSeq)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type outbox struct {
	mu      sync.Mutex
	due     dueHeap
	count   int // reports on disk
	signal  chan struct{}
	waiters int
}

func (o *outbox) init() { o.signal = make(chan struct{}) }

// push adds an entry; mu held (or before start).
func (o *outbox) push(at time.Time, seq uint64) {
	heap.Push(&o.due, dueSeq{at: at.UnixNano(), seq: seq})
}

func (o *outbox) wake() {
	o.mu.Lock()
	if o.waiters > 0 {
		close(o.signal)
		o.signal = make(chan struct{})
	}
	o.mu.Unlock()
}

// reportAdded is the post-commit effect of a new report.
func (s *Store) reportAdded(at time.Time, seq uint64) {
	o := &s.outbox
	o.mu.Lock()
	o.push(at, seq)
	o.count++
	s.metrics.reports.Set(float64(o.count))
	o.mu.Unlock()
}

// PendingReports implements core.ReportOutbox.
func (s *Store) PendingReports(ctx context.Context, max int) ([]core.Report, error) {
	if max <= 0 {
		max = 1
	}
	o := &s.outbox
	var timer dueTimer
	defer timer.stop()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o.mu.Lock()
		now := s.now().UnixNano()
		var seqs []uint64
		for len(o.due) > 0 && o.due[0].at <= now && len(seqs) < max {
			seqs = append(seqs, heap.Pop(&o.due).(dueSeq).seq)
		}
		if len(seqs) > 0 {
			o.mu.Unlock()
			out, err := s.readReports(seqs)
			if err != nil || len(out) > 0 {
				return out, err
			}
			continue // all acked meanwhile
		}
		wait := o.signal
		o.waiters++
		var due <-chan time.Time
		if len(o.due) > 0 {
			due = timer.after(time.Duration(o.due[0].at - now))
		}
		o.mu.Unlock()
		stopped := s.wake(ctx, wait, due)
		o.mu.Lock()
		o.waiters--
		o.mu.Unlock()
		if stopped {
			return nil, errClosed()
		}
	}
}

func (s *Store) readReports(seqs []uint64) ([]core.Report, error) {
	out := make([]core.Report, 0, len(seqs))
	err := s.db.View(func(txn *badger.Txn) error {
		for _, seq := range seqs {
			it, err := txn.Get(reportKey(seq))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := it.Value(func(v []byte) error {
				rp, _, err := decodeReport(v)
				if err != nil {
					return err
				}
				rp.Seq = seq
				out = append(out, rp)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Put them back so they are not lost until a restart.
		s.outbox.mu.Lock()
		now := s.now()
		for _, seq := range seqs {
			s.outbox.push(now.Add(time.Second), seq)
		}
		s.outbox.mu.Unlock()
		return nil, core.Errorf(core.EINTERNAL, "read reports: %w", err)
	}
	return out, nil
}

// AckReports implements core.ReportOutbox.
func (s *Store) AckReports(ctx context.Context, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	seqs = append([]uint64(nil), seqs...)
	o := &op{items: len(seqs), apply: func(b *batch) error {
		n := 0
		for _, seq := range seqs {
			k := reportKey(seq)
			_, ok, err := b.get(k)
			if err != nil {
				return err
			}
			if ok {
				b.del(k)
				n++
			}
		}
		if n > 0 {
			b.effect(func() {
				s.outbox.mu.Lock()
				s.outbox.count -= n
				s.metrics.reports.Set(float64(s.outbox.count))
				s.outbox.mu.Unlock()
			})
		}
		return nil
	}}
	o.class = classEvent
	return s.submit(ctx, o)
}

// RetryReports implements core.ReportOutbox: each report (by Seq) is due
// again at at, with Attempts one more than stored.
func (s *Store) RetryReports(ctx context.Context, reports []core.Report, at time.Time) error {
	if len(reports) == 0 {
		return nil
	}
	seqs := make([]uint64, len(reports))
	for i := range reports {
		seqs[i] = reports[i].Seq
	}
	o := &op{items: len(seqs), apply: func(b *batch) error {
		for _, seq := range seqs {
			k := reportKey(seq)
			v, ok, err := b.get(k)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			rp, _, err := decodeReport(v)
			if err != nil {
				return err
			}
			rp.Attempts++
			b.set(k, encodeReport(make([]byte, 0, len(v)+2), &rp, at))
			b.effect(func() {
				s.outbox.mu.Lock()
				s.outbox.push(at, seq)
				s.outbox.mu.Unlock()
			})
			b.wakeReports = true
		}
		return nil
	}}
	return s.submit(ctx, o)
}

// addReport writes the report owed for m, final now, into the batch.
func (b *batch) addReport(m *core.Message, errCode string, at time.Time) {
	b.reportSeq++
	seq := b.reportSeq
	rp := core.Report{
		Seq:           seq,
		MessageID:     m.ID,
		Kind:          m.Kind,
		ApplicationID: m.ApplicationID,
		Reference:     m.Reference,
		To:            m.To,
		Status:        m.Status,
		ErrorCode:     errCode,
		At:            at,
		ClientID:      m.ClientID,
		CallbackURL:   m.CallbackURL,
	}
	due := b.now
	b.set(binary.BigEndian.AppendUint64([]byte(pfxReport), seq), encodeReport(make([]byte, 0, 160), &rp, due))
	s := b.s
	b.effect(func() { s.reportAdded(due, seq) })
	b.wakeReports = true
}
