package store

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"vneidgw/internal/jsonenc"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// AuditLog implements core.AuditLog on Badger under xu/<time-ordered id>,
// listed newest first. Record writes one event per key (a JSON object);
// RecordBatch writes groups of up to auditGroup events per key (a JSON
// array, newest first, keyed by its newest event's id), so that the bulk
// approvals' account-creation events cost one entry per group instead of
// one each. Events are kept until an operator prunes them (retention is
// policy, not code).
type AuditLog struct {
	db *badger.DB
}

var _ core.AuditLog = (*AuditLog)(nil)

// NewAuditLog returns the audit log on db.
func NewAuditLog(db *badger.DB) *AuditLog { return &AuditLog{db: db} }

// Record implements core.AuditLog.
func (l *AuditLog) Record(ctx context.Context, ev core.AuditEvent) error {
	if ev.ID == "" {
		ev.ID = core.NewID(ev.At)
	}
	val, err := encodeAuditEvent(&ev)
	if err != nil {
		return core.Errorf(core.EINTERNAL, "audit: encode: %w", err)
	}
	// A blind write of a unique key: no read, so no conflict to retry.
	return update(ctx, l.db, func(txn *badger.Txn) error { return txn.Set([]byte(pfxAudit+ev.ID), val) })
}

// auditGroup bounds the events of one RecordBatch key. Each was an LSM
// entry of about 220 bytes (key and JSON): in the bulk bench, one of the
// eleven entries an approval wrote, and a sixth of its memtable bytes.
const auditGroup = 256

// RecordBatch implements core.AuditLog: blind writes of unique keys, in
// groups of up to auditGroup events (newest first), in one write batch. A
// group keeps its place in the listing by its newest event: the events of
// a batch share their time (the bulk path's case), so only events of that
// same millisecond could list out of their ids' order.
func (l *AuditLog) RecordBatch(ctx context.Context, evs []core.AuditEvent) error {
	if err := ctx.Err(); err != nil {
		return core.Errorf(core.EUNAVAILABLE, "store: %w", err)
	}
	ids := make([]string, len(evs))
	order := make([]int, len(evs))
	for i := range evs {
		ids[i], order[i] = evs[i].ID, i
		if ids[i] == "" {
			ids[i] = core.NewID(evs[i].At)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(ids[b], ids[a]) })
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for lo := 0; lo < len(order); lo += auditGroup {
		group := order[lo:min(lo+auditGroup, len(order))]
		val, err := encodeAuditRecord(evs, ids, group)
		if err != nil {
			return core.Errorf(core.EINTERNAL, "audit: encode: %w", err)
		}
		if err := wb.Set([]byte(pfxAudit+ids[group[0]]), val); err != nil {
			return storeErr(err)
		}
	}
	return storeErr(wb.Flush())
}

// encodeAuditRecord returns the xu/ value of the events evs[i] for i in
// group (ids[i] their ids): one event's object, or a JSON array of them.
func encodeAuditRecord(evs []core.AuditEvent, ids []string, group []int) ([]byte, error) {
	if len(group) == 1 {
		return encodeAuditEventID(&evs[group[0]], ids[group[0]])
	}
	val := []byte{'['}
	for j, i := range group {
		v, err := encodeAuditEventID(&evs[i], ids[i])
		if err != nil {
			return nil, err
		}
		if j > 0 {
			val = append(val, ',')
		}
		val = append(val, v...)
	}
	return append(val, ']'), nil
}

// decodeAuditRecord returns the events of one xu/ value: an object (one
// event) or an array (a RecordBatch group, newest first).
func decodeAuditRecord(v []byte) ([]core.AuditEvent, error) {
	if len(v) > 0 && v[0] == '[' {
		var evs []core.AuditEvent
		err := json.Unmarshal(v, &evs)
		return evs, err
	}
	var ev core.AuditEvent
	if err := json.Unmarshal(v, &ev); err != nil {
		return nil, err
	}
	return []core.AuditEvent{ev}, nil
}

// Events implements core.AuditLog. A cursor is a key's id, to resume after
// that key's record (as before groups existed: then always the last event's
// id), or "<key id>:<n>", to resume within a group after its first n
// events.
func (l *AuditLog) Events(ctx context.Context, cursor string, limit int) ([]core.AuditEvent, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	seek := []byte(pfxAudit + "\xff")
	var skipKey, startKey string
	skipN := 0
	if cursor != "" {
		id, n, inGroup := strings.Cut(cursor, ":")
		k, err := strconv.Atoi(n)
		if inGroup && err == nil && k >= 0 {
			startKey, skipN = id, k
		} else {
			skipKey = id
		}
		seek = []byte(pfxAudit + id)
	}
	var out []core.AuditEvent
	var next, prev string
	err := view(ctx, l.db, func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		opts.Prefix = []byte(pfxAudit)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(seek); it.ValidForPrefix([]byte(pfxAudit)); it.Next() {
			id := string(it.Item().Key()[len(pfxAudit):])
			if id == skipKey {
				continue
			}
			var evs []core.AuditEvent
			if err := it.Item().Value(func(v []byte) error {
				var err error
				evs, err = decodeAuditRecord(v)
				return err
			}); err != nil {
				return err
			}
			from := 0
			if id == startKey {
				from = skipN
			}
			for k := from; k < len(evs); k++ {
				if len(out) == limit {
					next = id + ":" + strconv.Itoa(k)
					if k == 0 {
						next = prev // after the whole previous record
					}
					return nil
				}
				out = append(out, evs[k])
			}
			prev = id
		}
		return nil
	})
	return out, next, err
}

// encodeAuditEvent returns ev's record: exactly what json.Marshal(ev)
// returns, built without reflection (see encodeAccount).
func encodeAuditEvent(ev *core.AuditEvent) ([]byte, error) { return encodeAuditEventID(ev, ev.ID) }

// encodeAuditEventID is encodeAuditEvent with the event's ID taken as id
// (RecordBatch assigns IDs without writing to the caller's slice).
func encodeAuditEventID(ev *core.AuditEvent, id string) ([]byte, error) {
	if !jsonTimeOK(ev.At) {
		cp := *ev
		cp.ID = id
		return json.Marshal(cp)
	}
	b := make([]byte, 0, 160+len(ev.Actor)+len(ev.Subject)+len(ev.Client)+len(ev.Detail))
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, id)
	b = append(b, `,"at":`...)
	b = appendJSONTime(b, ev.At)
	b = append(b, `,"actor":`...)
	b = jsonenc.AppendString(b, ev.Actor)
	b = append(b, `,"channel":`...)
	b = jsonenc.AppendString(b, string(ev.Channel))
	b = append(b, `,"action":`...)
	b = jsonenc.AppendString(b, ev.Action)
	b = append(b, `,"subject":`...)
	b = jsonenc.AppendString(b, ev.Subject)
	if ev.Client != "" {
		b = append(b, `,"client":`...)
		b = jsonenc.AppendString(b, ev.Client)
	}
	b = append(b, `,"outcome":`...)
	b = jsonenc.AppendString(b, ev.Outcome)
	if ev.Detail != "" {
		b = append(b, `,"detail":`...)
		b = jsonenc.AppendString(b, ev.Detail)
	}
	return append(b, '}'), nil
}
