package store

import (
	"context"
	"encoding/json"
	"vneidgw/internal/jsonenc"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// AuditLog implements core.AuditLog on Badger: one key per event under
// xu/<time-ordered id>, listed newest first. Events are kept until an
// operator prunes them (retention is policy, not code).
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

// RecordBatch implements core.AuditLog: blind writes of unique keys in one
// write batch.
func (l *AuditLog) RecordBatch(ctx context.Context, evs []core.AuditEvent) error {
	if err := ctx.Err(); err != nil {
		return core.Errorf(core.EUNAVAILABLE, "store: %w", err)
	}
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for i := range evs {
		ev := &evs[i]
		id := ev.ID
		if id == "" {
			id = core.NewID(ev.At)
		}
		val, err := encodeAuditEventID(ev, id)
		if err != nil {
			return core.Errorf(core.EINTERNAL, "audit: encode: %w", err)
		}
		if err := wb.Set([]byte(pfxAudit+id), val); err != nil {
			return storeErr(err)
		}
	}
	return storeErr(wb.Flush())
}

// Events implements core.AuditLog.
func (l *AuditLog) Events(ctx context.Context, cursor string, limit int) ([]core.AuditEvent, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []core.AuditEvent
	var next string
	err := view(ctx, l.db, func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		opts.Prefix = []byte(pfxAudit)
		it := txn.NewIterator(opts)
		defer it.Close()
		seek := []byte(pfxAudit + "\xff")
		if cursor != "" {
			seek = []byte(pfxAudit + cursor)
		}
		for it.Seek(seek); it.ValidForPrefix([]byte(pfxAudit)); it.Next() {
			id := string(it.Item().Key()[len(pfxAudit):])
			if id == cursor {
				continue
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return nil
			}
			var ev core.AuditEvent
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
				return err
			}
			out = append(out, ev)
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
