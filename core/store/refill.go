package store

import (
	"errors"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// The refiller loads spilled queue lanes back from disk on its own
// goroutine, without the scheduler's lock: a scan reads up to a lane's
// capacity of records (about 1,000 for an approval lane), and under the lock
// it held up every Next (the OTP lane's included) and every commit's queue
// effects for as long.

// refillRetry is how long the refiller waits after a failed scan.
const refillRetry = 100 * time.Millisecond

// kickRefill asks the refiller to look for lanes to load; mu held or not.
func (q *scheduler) kickRefill() {
	select {
	case q.refillKick <- struct{}{}:
	default:
	}
}

// refillLoop runs until Close: each kick, it loads every lane that is
// spilled and under half full, most urgent priority first.
func (s *Store) refillLoop() {
	defer s.wg.Done()
	q := &s.sched
	for {
		select {
		case <-q.refillKick:
		case <-s.stop:
			return
		}
		for {
			q.mu.Lock()
			l := q.lowestLane()
			if l == nil {
				q.mu.Unlock()
				break
			}
			from, room := l.cursor, l.cap-l.len()
			l.refilling, l.offeredDuring = true, false
			q.mu.Unlock()

			msgs, last, done, err := s.scanLane(l.laneKey, from, room)

			q.mu.Lock()
			q.mergeRefill(l, msgs, last, done && err == nil)
			q.wakeLocked()
			q.mu.Unlock()
			if err != nil {
				s.log.Error().Err(err).Str("operator", l.op).Msg("store: queue refill")
				select {
				case <-time.After(refillRetry):
					q.kickRefill()
				case <-s.stop:
					return
				}
				break
			}
		}
	}
}

// lowestLane returns the spilled lane under half full with the most urgent
// priority (nil if none); mu held.
func (q *scheduler) lowestLane() *lane {
	var best *lane
	for _, l := range q.lanes {
		if !l.spilled || l.refilling || l.len() >= l.cap/2 {
			continue
		}
		if best == nil || l.prio < best.prio {
			best = l
		}
	}
	return best
}

// mergeRefill adds a scan's messages to l and ends its refill; mu held.
// last is the last queue sequence the scan passed (loaded or skipped);
// exhausted says it reached the end of the lane on disk.
func (q *scheduler) mergeRefill(l *lane, msgs []*core.Message, last uint64, exhausted bool) {
	for _, m := range msgs {
		if _, gone := l.removedDuring[m.QueueSeq]; gone || m.QueueSeq <= l.cursor {
			continue
		}
		l.push(m)
		l.cursor = m.QueueSeq
	}
	l.cursor = max(l.cursor, last)
	// An offer during the scan may be missing from its snapshot: stay
	// spilled so the next scan finds it.
	if exhausted && !l.offeredDuring {
		l.spilled = false
	}
	l.refilling, l.offeredDuring, l.removedDuring = false, false, nil
}

// scanLane reads up to room queued messages of lane k after sequence from,
// in order. last is the last sequence passed (keys without a readable
// message are skipped, and logged); exhausted is true if the lane has no
// more keys.
func (s *Store) scanLane(k laneKey, from uint64, room int) (msgs []*core.Message, last uint64, exhausted bool, err error) {
	// Read before the snapshot is taken: every batch up to visible is in
	// it (refill_cache.go).
	visible := s.visibleStamp.Load()
	var recs []refilled
	if s.mcache.enabled() {
		recs = make([]refilled, 0, room)
		defer func() { s.refilled.hand(recs) }()
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	if s.scanHook != nil {
		s.scanHook() // tests: the snapshot is taken
	}
	opts := badger.DefaultIteratorOptions
	opts.Prefix = queuePrefix(k.op, k.prio)
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	buf := make([]byte, 0, 256)
	last = from
	for it.Seek(queueKey(k.op, k.prio, from+1)); it.Valid(); it.Next() {
		if len(msgs) == room {
			return msgs, last, false, nil
		}
		_, _, seq, ok := parseQueueKey(it.Item().Key())
		if !ok {
			continue
		}
		id, err := it.Item().ValueCopy(buf[:0])
		if err != nil {
			return msgs, last, false, err
		}
		mi, err := txn.Get(messageKey(string(id)))
		if errors.Is(err, badger.ErrKeyNotFound) {
			s.log.Warn().Str("message_id", string(id)).Msg("store: queue key without message")
			last = seq
			continue
		}
		if err != nil {
			return msgs, last, false, err
		}
		// One copy, shared by the decoded strings and the cache.
		raw, err := mi.ValueCopy(nil)
		var m *core.Message
		if err == nil {
			m, _, err = decodeMessageShared(raw)
		}
		if err != nil {
			s.log.Error().Err(err).Str("message_id", string(id)).Msg("store: undecodable queued message skipped")
			last = seq
			continue
		}
		m.QueueSeq = seq
		msgs = append(msgs, m)
		if recs != nil {
			// Its own small string: the cache's rings keep keys after
			// their entries leave, and m.ID points into raw.
			recs = append(recs, refilled{id: string(id), raw: raw, visible: visible})
		}
		last = seq
	}
	return msgs, last, true, nil
}
