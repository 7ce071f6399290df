package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// AccountEventOutbox implements core.AccountEventOutbox: account events
// written by AccountStore.UpdateAccount, ordered by due time under
// xe/q/<due><seq><id>, with xe/i/<id> → due+seq so Ack and Retry find
// them. seq (the wall clock's nanoseconds at the write) keeps events due at
// the same time in the order they were written: the receiver sees "locked"
// before "unlocked".
type AccountEventOutbox struct {
	db *badger.DB
}

var _ core.AccountEventOutbox = (*AccountEventOutbox)(nil)

// NewAccountEventOutbox returns the outbox on db.
func NewAccountEventOutbox(db *badger.DB) *AccountEventOutbox { return &AccountEventOutbox{db: db} }

func eventQueueKey(pos []byte, id string) []byte {
	k := make([]byte, 0, len(pfxEventQueue)+len(pos)+len(id))
	k = append(k, pfxEventQueue...)
	k = append(k, pos...)
	return append(k, id...)
}

// eventPos is an event's place in the queue: due time then write order.
func eventPos(due time.Time) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), dueOf(due))
	return binary.BigEndian.AppendUint64(b, uint64(time.Now().UnixNano()))
}

func eventIndexKey(id string) []byte { return []byte(pfxEventIndex + id) }

func dueOf(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

// putEvent writes ev due at due in txn (used by UpdateAccount and Retry).
func putEvent(txn *badger.Txn, ev *core.AccountEvent, due time.Time) error {
	if ev.ID == "" {
		ev.ID = core.NewID(ev.At)
	}
	val, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	pos := eventPos(due)
	if err := txn.Set(eventQueueKey(pos, ev.ID), val); err != nil {
		return err
	}
	return txn.Set(eventIndexKey(ev.ID), pos)
}

// Pending implements core.AccountEventOutbox.
func (o *AccountEventOutbox) Pending(ctx context.Context, now time.Time, max int) ([]core.AccountEvent, error) {
	if max <= 0 {
		max = 100
	}
	var out []core.AccountEvent
	limit := dueOf(now)
	err := view(ctx, o.db, func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(pfxEventQueue)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < max; it.Next() {
			k := it.Item().Key()
			if len(k) < len(pfxEventQueue)+16 || binary.BigEndian.Uint64(k[len(pfxEventQueue):]) > limit {
				break
			}
			var ev core.AccountEvent
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// Ack implements core.AccountEventOutbox.
func (o *AccountEventOutbox) Ack(ctx context.Context, id string) error {
	return update(ctx, o.db, func(txn *badger.Txn) error {
		v, err := getValue(txn, eventIndexKey(id))
		if err != nil || len(v) != 16 {
			return err
		}
		if err := txn.Delete(eventQueueKey(v, id)); err != nil {
			return err
		}
		return txn.Delete(eventIndexKey(id))
	})
}

// Retry implements core.AccountEventOutbox.
func (o *AccountEventOutbox) Retry(ctx context.Context, id string, at time.Time) error {
	return update(ctx, o.db, func(txn *badger.Txn) error {
		v, err := getValue(txn, eventIndexKey(id))
		if err != nil {
			return err
		}
		if len(v) != 16 {
			return core.Errorf(core.ENOTFOUND, "no such account event")
		}
		old := eventQueueKey(v, id)
		raw, err := getValue(txn, old)
		if err != nil {
			return err
		}
		if raw == nil {
			return core.Errorf(core.ENOTFOUND, "no such account event")
		}
		var ev core.AccountEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return err
		}
		ev.Attempts++
		if err := txn.Delete(old); err != nil {
			return err
		}
		return putEvent(txn, &ev, at)
	})
}

// Len implements core.AccountEventOutbox.
func (o *AccountEventOutbox) Len(ctx context.Context) (int, error) {
	n := 0
	err := view(ctx, o.db, func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(pfxEventIndex)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, err
}
