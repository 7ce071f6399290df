package store

import (
	"context"
	"encoding/binary"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// correlationTTL is how long an SMSC id stays resolvable after its submit
// (DLRs come within the validity period, at most a few days).
const correlationTTL = 7 * 24 * time.Hour

// msgRec is a message loaded into a batch for a read-modify-write.
type msgRec struct {
	m      *core.Message
	queued bool // holds its q/ key
	final  bool // final before this event
}

func validateEvent(e *core.Event) error {
	switch e.Kind {
	case core.EventSubmitted, core.EventRejected, core.EventUnknown, core.EventExpired:
		if e.MessageID == "" {
			return core.Errorf(core.EINVALID, "event without message id")
		}
	case core.EventDLR:
		if e.SMSCID == "" && (e.MessageID == "" || e.Part < 1) {
			return core.Errorf(core.EINVALID, "receipt without smsc id")
		}
	default:
		return core.Errorf(core.EINVALID, "unknown event kind %d", e.Kind)
	}
	return nil
}

// Record implements core.Queue. Events naming an unknown message or part
// are logged and skipped; a receipt for a message already final changes
// nothing.
func (s *Store) Record(ctx context.Context, events []core.Event) error {
	if len(events) == 0 {
		return nil
	}
	evs := append([]core.Event(nil), events...)
	for i := range evs {
		if err := validateEvent(&evs[i]); err != nil {
			return err
		}
	}
	o := &op{items: len(evs), apply: func(b *batch) error {
		for i := range evs {
			e := &evs[i]
			if e.At.IsZero() {
				e.At = b.now
			}
			if err := s.applyEvent(b, e); err != nil {
				return err
			}
		}
		return nil
	}}
	return s.submit(ctx, o)
}

func (b *batch) loadMessage(id string) (*msgRec, error) {
	v, ok, err := b.get(messageKey(id))
	if err != nil || !ok {
		return nil, err
	}
	m, queued, err := decodeMessage(v)
	if err != nil {
		return nil, err
	}
	return &msgRec{m: m, queued: queued, final: m.Status.Final()}, nil
}

func (s *Store) applyEvent(b *batch, e *core.Event) error {
	if e.Kind == core.EventDLR {
		return s.applyDLR(b, e)
	}
	rec, err := b.loadMessage(e.MessageID)
	if err != nil {
		return err
	}
	if rec == nil {
		s.log.Warn().Str("message_id", e.MessageID).Uint8("kind", uint8(e.Kind)).Msg("store: event for unknown message skipped")
		return nil
	}
	if rec.final {
		return nil
	}
	m := rec.m
	part := e.Part
	if part < 1 && len(m.Parts) == 1 {
		part = 1
	}
	switch e.Kind {
	case core.EventSubmitted:
		if part < 1 || part > len(m.Parts) {
			s.log.Warn().Str("message_id", m.ID).Int("part", e.Part).Msg("store: submit for unknown part skipped")
			return nil
		}
		p := &m.Parts[part-1]
		if p.Status.Final() || p.Status == core.StatusSubmitted {
			return nil // late or repeated response
		}
		if p.Status == core.StatusUnknown {
			s.delUnknown(b, m, part)
		}
		p.Status = core.StatusSubmitted
		p.SMSCID = e.SMSCID
		m.History = append(m.History, hopOf(e, core.StatusSubmitted, part, m))
		if c := canonSMSCID(e.SMSCID); c != "" {
			op := opOf(e, m)
			b.setTTL(correlationKey(op, c), encodeCorrelation(part, m.ID), correlationTTL)
			// A receipt that came before this response?
			for _, v := range s.pendingVariants(e.SMSCID) {
				k := pendingDLRKey(op, v)
				raw, ok, err := b.get(k)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				b.del(k)
				b.effect(func() { s.pendingDLRs-- })
				dlr, err := decodeDLR(raw)
				if err != nil {
					s.log.Warn().Err(err).Msg("store: bad pending receipt dropped")
					break
				}
				dlr.Operator = op
				s.applyReceipt(b, rec, part, &dlr)
				break
			}
		}
	case core.EventUnknown:
		if part < 1 || part > len(m.Parts) {
			return nil
		}
		p := &m.Parts[part-1]
		if p.Status != core.StatusQueued {
			return nil
		}
		p.Status = core.StatusUnknown
		b.set(unknownKey(m.To, m.ID, part), binary.BigEndian.AppendUint64(nil, uint64(max(e.At.UnixNano(), 0))))
		b.touchUnknown(m.To, unknownKey(m.To, m.ID, part))
		s.unknownParts++ // counted at once (writer-owned), so later batches search
		m.History = append(m.History, hopOf(e, core.StatusUnknown, part, m))
	case core.EventRejected, core.EventExpired:
		st := core.StatusRejected
		if e.Kind == core.EventExpired {
			st = core.StatusExpired
		}
		for i := range m.Parts {
			if m.Parts[i].Status == core.StatusQueued || i+1 == part && !m.Parts[i].Status.Final() {
				m.Parts[i].Status = st
			}
		}
		hp := part
		if part < 1 || part > len(m.Parts) {
			hp = 0
		}
		m.History = append(m.History, hopOf(e, st, hp, m))
		m.Status = st
	}
	s.saveMessage(b, rec, e.ErrorCode)
	return nil
}

// pendingVariants returns the ids to look up among pending receipts: none
// while no receipt is pending (the common case: one lookup saved per id form).
func (s *Store) pendingVariants(smscid string) []string {
	if s.pendingDLRs <= 0 {
		return nil
	}
	return smscIDVariants(smscid)
}

func opOf(e *core.Event, m *core.Message) string {
	if e.Operator != "" {
		return e.Operator
	}
	return m.Operator
}

func hopOf(e *core.Event, st core.Status, part int, m *core.Message) core.Hop {
	return core.Hop{
		Status:     st,
		At:         e.At,
		Part:       part,
		Operator:   opOf(e, m),
		Bind:       e.Bind,
		SMSCID:     e.SMSCID,
		SMPPStatus: e.SMPPStatus,
		ErrorCode:  e.ErrorCode,
	}
}

// applyReceipt applies a DLR to one part of rec. It reports whether
// anything changed.
func (s *Store) applyReceipt(b *batch, rec *msgRec, part int, e *core.Event) bool {
	m := rec.m
	if m.Status.Final() || part < 1 || part > len(m.Parts) {
		return false
	}
	p := &m.Parts[part-1]
	if p.Status.Final() {
		return false // redelivered receipt
	}
	if !e.Status.Final() {
		m.History = append(m.History, hopOf(e, e.Status, part, m))
		return true
	}
	if p.Status == core.StatusUnknown {
		s.delUnknown(b, m, part)
	}
	p.Status = e.Status
	if p.SMSCID == "" {
		p.SMSCID = e.SMSCID
	}
	m.History = append(m.History, hopOf(e, e.Status, part, m))
	return true
}

func (s *Store) applyDLR(b *batch, e *core.Event) error {
	for _, v := range smscIDVariants(e.SMSCID) {
		raw, ok, err := b.get(correlationKey(e.Operator, v))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		part, id, err := decodeCorrelation(raw)
		if err != nil {
			return err
		}
		return s.receiptFor(b, id, part, e)
	}
	if e.MessageID != "" && e.Part > 0 {
		return s.receiptFor(b, e.MessageID, e.Part, e)
	}
	if e.Phone != "" && s.unknownParts > 0 {
		id, part, err := b.oldestUnknown(e.Phone)
		if err != nil {
			return err
		}
		if id != "" {
			rec, err := b.loadMessage(id)
			if err != nil {
				return err
			}
			if rec != nil {
				if c := canonSMSCID(e.SMSCID); c != "" {
					b.setTTL(correlationKey(opOf(e, rec.m), c), encodeCorrelation(part, id), correlationTTL)
				}
				if s.applyReceipt(b, rec, part, e) {
					s.saveMessage(b, rec, e.ErrorCode)
				}
				return nil
			}
		}
	}
	if c := canonSMSCID(e.SMSCID); c != "" {
		b.setTTL(pendingDLRKey(e.Operator, c), encodeDLR(make([]byte, 0, 64), e), b.s.cfg.PendingDLRTTL)
		s.pendingDLRs++ // counted at once (writer-owned), so later batches look it up
	}
	return nil
}

func (s *Store) receiptFor(b *batch, id string, part int, e *core.Event) error {
	rec, err := b.loadMessage(id)
	if err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	if s.applyReceipt(b, rec, part, e) {
		s.saveMessage(b, rec, e.ErrorCode)
	}
	return nil
}

// delUnknown removes an unknown part's index entry; the count drops once
// the removal is on disk.
func (s *Store) delUnknown(b *batch, m *core.Message, part int) {
	b.del(unknownKey(m.To, m.ID, part))
	b.effect(func() { s.unknownParts-- })
}

func (b *batch) touchUnknown(phone string, key []byte) {
	if b.unknownTouched == nil {
		b.unknownTouched = make(map[string][]string)
	}
	b.unknownTouched[phone] = append(b.unknownTouched[phone], string(key))
}

// oldestUnknown returns the phone's unknown part with the oldest unknown
// event, as this batch sees it (snapshot plus the overlays of this and the
// batches still committing).
func (b *batch) oldestUnknown(phone string) (string, int, error) {
	keys := map[string]struct{}{}
	opts := badger.DefaultIteratorOptions
	opts.Prefix = unknownPrefix(phone)
	opts.PrefetchValues = false
	it := b.rtx.NewIterator(opts)
	for it.Rewind(); it.Valid(); it.Next() {
		keys[string(it.Item().Key())] = struct{}{}
	}
	it.Close()
	for _, x := range append(b.prev, b) {
		for _, k := range x.unknownTouched[phone] {
			keys[k] = struct{}{}
		}
	}
	var bestKey string
	var bestAt uint64
	for k := range keys {
		v, ok, err := b.get([]byte(k))
		if err != nil {
			return "", 0, err
		}
		if !ok || len(v) != 8 {
			continue
		}
		at := binary.BigEndian.Uint64(v)
		if bestKey == "" || at < bestAt || at == bestAt && k < bestKey {
			bestKey, bestAt = k, at
		}
	}
	if bestKey == "" {
		return "", 0, nil
	}
	id, part, ok := parseUnknownKey([]byte(bestKey), phone)
	if !ok {
		return "", 0, nil
	}
	return id, part, nil
}

// deriveStatus computes a message's status from its parts.
func deriveStatus(parts []core.PartState) core.Status {
	allFinal, allDelivered := true, true
	anyQueued, anyUnknown := false, false
	worst, rank := core.StatusDelivered, 0
	for _, p := range parts {
		switch {
		case p.Status.Final():
			if p.Status != core.StatusDelivered {
				allDelivered = false
			}
			if r := severity(p.Status); r > rank {
				worst, rank = p.Status, r
			}
		case p.Status == core.StatusUnknown:
			allFinal = false
			anyUnknown = true
		case p.Status == core.StatusSubmitted:
			allFinal = false
		default:
			allFinal = false
			anyQueued = true
		}
	}
	switch {
	case allFinal && allDelivered:
		return core.StatusDelivered
	case allFinal:
		return worst
	case anyQueued:
		return core.StatusQueued
	case anyUnknown:
		return core.StatusUnknown
	}
	return core.StatusSubmitted
}

func severity(s core.Status) int {
	switch s {
	case core.StatusExpired:
		return 1
	case core.StatusUndeliverable:
		return 2
	case core.StatusRejected:
		return 3
	}
	return 0
}

// saveMessage derives the status, leaves the queue when nothing is left to
// send, writes the report when the message became final, and stores it.
func (s *Store) saveMessage(b *batch, rec *msgRec, errCode string) {
	m := rec.m
	if !m.Status.Final() {
		m.Status = deriveStatus(m.Parts)
	}
	final := m.Status.Final()
	if rec.queued {
		pending := false
		for _, p := range m.Parts {
			if p.Status == core.StatusQueued {
				pending = true
				break
			}
		}
		if final || !pending {
			b.del(queueKey(m.Operator, m.Priority, m.QueueSeq))
			rec.queued = false
			op, prio, seq := m.Operator, m.Priority, m.QueueSeq
			b.effect(func() { s.sched.removed(op, prio, seq) })
		}
	}
	if final && !rec.final {
		rec.final = true
		for i, p := range m.Parts {
			if p.Status == core.StatusUnknown {
				s.delUnknown(b, m, i+1)
			}
		}
		at := b.now
		if n := len(m.History); n > 0 && !m.History[n-1].At.IsZero() {
			at = m.History[n-1].At
		}
		b.addReport(m, errCode, at)
	}
	b.set(messageKey(m.ID), encodeMessage(make([]byte, 0, 128+len(m.Text)+len(m.History)*48), m, rec.queued))
}
