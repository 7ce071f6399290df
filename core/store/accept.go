package store

import (
	"slices"

	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// cloneMessage copies m deeply enough that the store and the caller never
// share mutable state.
func cloneMessage(m *core.Message) *core.Message {
	c := *m
	c.Parts = append([]core.PartState(nil), m.Parts...)
	c.History = append([]core.Hop(nil), m.History...)
	return &c
}

func validateAccept(r *core.AcceptRequest) error {
	m := r.Message
	switch {
	case m == nil:
		return core.Errorf(core.EINVALID, "accept: no message")
	case m.ID == "":
		return core.Errorf(core.EINVALID, "accept: message has no id")
	case m.To == "":
		return core.Errorf(core.EINVALID, "accept: message %s has no destination", m.ID)
	case m.Operator == "" || strings.Contains(m.Operator, "/"):
		return core.Errorf(core.EINVALID, "accept: message %s has no valid operator", m.ID)
	case m.Priority >= core.NumPriorities:
		return core.Errorf(core.EINVALID, "accept: message %s has an invalid priority", m.ID)
	case len(m.Parts) > 255:
		return core.Errorf(core.ETOOLARGE, "accept: message %s has too many parts", m.ID)
	case r.Application != nil && r.Application.ApplicationID == "":
		return core.Errorf(core.EINVALID, "accept: application without id")
	}
	return nil
}

// Accept implements core.MessageStore. The store sets the stored message's
// QueueSeq (and, for new messages, the caller's Message.QueueSeq); a message
// without parts gets one; empty statuses become queued; an empty history
// gets its queued hop. Message ids must be new (core.NewID): the store
// does not look for an existing record, a read that would always miss.
// More than maxBulkItems requests are written in several group commits, in
// order: on an error the first of them may be stored (a resubmission is
// safe: approvals are idempotent on application id, notices on their
// idempotency key).
func (s *Store) Accept(ctx context.Context, reqs []core.AcceptRequest) ([]core.AcceptResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	msgs, err := s.prepareAccept(reqs)
	if err != nil {
		return nil, err
	}
	results := make([]core.AcceptResult, len(reqs))
	// An OTP goes ahead of bulk work (a small op; writer.go).
	if len(reqs) <= maxExpressItems && slices.ContainsFunc(msgs, func(m *core.Message) bool { return m.Priority == core.PriorityOTP }) {
		o := &op{items: len(reqs), class: classExpress, apply: func(b *batch) error {
			return s.applyAccept(b, reqs, msgs, results)
		}}
		if err := s.submit(ctx, o); err != nil {
			return nil, err
		}
		setQueueSeqs(reqs, msgs, results)
		return results, nil
	}
	// Bulk work goes in ops of at most maxBulkItems, taken in order: the
	// writer applies an op whole, and an OTP's accept waits for the op
	// being applied (a chunk of 1,000 approvals kept it 25–60 ms).
	t0 := time.Now()
	var ops []*op
	for lo := 0; lo < len(reqs); lo += maxBulkItems {
		hi := min(lo+maxBulkItems, len(reqs))
		r, m, res := reqs[lo:hi], msgs[lo:hi], results[lo:hi]
		o := &op{items: hi - lo, apply: func(b *batch) error { return s.applyAccept(b, r, m, res) }}
		if err = s.enqueue(ctx, o); err != nil {
			break
		}
		ops = append(ops, o)
	}
	for _, o := range ops {
		if werr := s.wait(o, t0); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, err
	}
	setQueueSeqs(reqs, msgs, results)
	return results, nil
}

// setQueueSeqs gives the callers' new messages the queue sequence the
// store assigned.
func setQueueSeqs(reqs []core.AcceptRequest, msgs []*core.Message, results []core.AcceptResult) {
	for i := range results {
		if !results[i].Duplicate {
			reqs[i].Message.QueueSeq = msgs[i].QueueSeq
		}
	}
}

// prepareAccept validates reqs and returns the messages to store: copies
// with the store's defaults filled in.
func (s *Store) prepareAccept(reqs []core.AcceptRequest) ([]*core.Message, error) {
	now := s.now()
	msgs := make([]*core.Message, len(reqs))
	for i := range reqs {
		if err := validateAccept(&reqs[i]); err != nil {
			return nil, err
		}
		m := cloneMessage(reqs[i].Message)
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		if m.Status == "" {
			m.Status = core.StatusQueued
		}
		if len(m.Parts) == 0 {
			m.Parts = []core.PartState{{Status: core.StatusQueued}}
		}
		for j := range m.Parts {
			if m.Parts[j].Status == "" {
				m.Parts[j].Status = core.StatusQueued
			}
		}
		if len(m.History) == 0 {
			m.History = []core.Hop{{Status: core.StatusQueued, At: m.CreatedAt, Operator: m.Operator}}
		}
		msgs[i] = m
	}
	return msgs, nil
}

// getNew is b.get for a key the key filter holds (keyfilter.go): one it
// knows is new is not looked up. The writer adds such keys as it applies
// them, so the filter covers its own batches in flight too.
func (s *Store) getNew(b *batch, key []byte) ([]byte, bool, error) {
	if !s.kf.mayContain(key) {
		return nil, false, nil
	}
	return b.get(key)
}

func (s *Store) applyAccept(b *batch, reqs []core.AcceptRequest, msgs []*core.Message, results []core.AcceptResult) error {
	for i := range reqs {
		r := &reqs[i]
		m := msgs[i]
		var akey, ikey []byte
		if r.Application != nil {
			akey = applicationKey(r.Application.ApplicationID)
			v, ok, err := s.getNew(b, akey)
			if err != nil {
				return err
			}
			if ok {
				a, err := decodeApplication(v)
				if err != nil {
					return err
				}
				results[i] = core.AcceptResult{MessageID: a.MessageID, Duplicate: true}
				continue
			}
		}
		if r.IdempotencyKey != "" {
			ikey = idempotencyKey(m.ClientID, r.IdempotencyKey)
			v, ok, err := s.getNew(b, ikey)
			if err != nil {
				return err
			}
			if ok {
				results[i] = core.AcceptResult{MessageID: string(v), Duplicate: true}
				continue
			}
		}
		// Ids are 48 bits of milliseconds and 80 random bits (core.NewID):
		// a collision is not checked for (a read that always misses).
		mkey := messageKey(m.ID)
		b.queueSeq++
		m.QueueSeq = b.queueSeq
		v := encodeMessage(make([]byte, 0, 96+len(m.Text)+len(m.CallbackURL)), m, true)
		b.set(mkey, v)
		if b.keepsInMemory(m) {
			// Its events come while it is still cached; a message that
			// goes to disk is cached when the refiller reads it back.
			b.cacheUpd = append(b.cacheUpd, cacheUpdate{c: &s.mcache, k: m.ID, v: v, seg: segAccepted})
		}
		b.set(queueKey(m.Operator, m.Priority, m.QueueSeq), []byte(m.ID))
		b.set(phoneKey(m.To, m.CreatedAt, m.ID), nil)
		if akey != nil {
			a := *r.Application
			a.MessageID = m.ID
			s.kf.add(akey)
			b.set(akey, encodeApplication(make([]byte, 0, 128), &a))
		}
		if ikey != nil {
			s.kf.add(ikey)
			b.set(ikey, []byte(m.ID))
		}
		results[i] = core.AcceptResult{MessageID: m.ID}
		mm := m
		b.effect(func() { s.sched.offer(mm) })
		if m.Priority == core.PriorityOTP {
			b.otpOffers = true
		}
		b.wakeQueue = true
	}
	return nil
}

// Message implements core.MessageStore.
func (s *Store) Message(ctx context.Context, id string) (*core.Message, error) {
	var m *core.Message
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(messageKey(id))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			var derr error
			m, _, derr = decodeMessage(v)
			return derr
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) || (err == nil && m == nil) {
		return nil, core.Errorf(core.ENOTFOUND, "message not found")
	}
	if err != nil {
		return nil, core.Errorf(core.EINTERNAL, "read message: %w", err)
	}
	return m, nil
}

// Application implements core.MessageStore.
func (s *Store) Application(ctx context.Context, applicationID string) (*core.Application, error) {
	var a *core.Application
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(applicationKey(applicationID))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			var derr error
			a, derr = decodeApplication(v)
			return derr
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, core.Errorf(core.ENOTFOUND, "application not found")
	}
	if err != nil {
		return nil, core.Errorf(core.EINTERNAL, "read application: %w", err)
	}
	return a, nil
}

// Page size bounds for MessagesByPhone.
const (
	defaultPageSize = 20
	maxPageSize     = 500
)

// MessagesByPhone implements core.MessageStore. The cursor is the opaque
// position after the last message returned.
func (s *Store) MessagesByPhone(ctx context.Context, phone, cursor string, limit int) ([]*core.Message, string, error) {
	if phone == "" || strings.Contains(phone, "/") {
		return nil, "", core.Errorf(core.EINVALID, "invalid phone number")
	}
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	prefix := phonePrefix(phone)
	seek := prefix
	var after []byte
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) < 9 {
			return nil, "", core.Errorf(core.EINVALID, "invalid cursor")
		}
		after = append(append([]byte(nil), prefix...), raw...)
		seek = after
	}
	var out []*core.Message
	var next string
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		var last []byte
		for it.Seek(seek); it.Valid(); it.Next() {
			k := it.Item().Key()
			if after != nil && bytes.Equal(k, after) {
				continue
			}
			if len(out) == limit {
				next = base64.RawURLEncoding.EncodeToString(last[len(prefix):])
				return nil
			}
			if len(k) < len(prefix)+9 {
				continue
			}
			id := string(k[len(prefix)+9:])
			mi, err := txn.Get(messageKey(id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := mi.Value(func(v []byte) error {
				m, _, err := decodeMessage(v)
				if err != nil {
					return err
				}
				out = append(out, m)
				return nil
			}); err != nil {
				return err
			}
			last = it.Item().KeyCopy(last[:0])
		}
		return nil
	})
	if err != nil {
		return nil, "", core.Errorf(core.EINTERNAL, "list messages: %w", err)
	}
	return out, next, nil
}

// keepsInMemory guesses whether the scheduler will keep m in its lane's
// memory FIFO when this batch offers it (rather than leave it on disk): the
// lane's room now, less what this batch offers it before m. Only the
// message cache uses it.
func (b *batch) keepsInMemory(m *core.Message) bool {
	if !b.s.mcache.enabled() {
		return false
	}
	k := laneKey{m.Operator, m.Priority}
	if b.laneRoom == nil {
		b.laneRoom = make(map[laneKey]int)
	}
	r, ok := b.laneRoom[k]
	if !ok {
		r = b.s.sched.room(m.Operator, m.Priority)
	}
	b.laneRoom[k] = max(r-1, 0)
	return r > 0
}
