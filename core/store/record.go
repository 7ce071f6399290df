package store

import (
	"sync"

	"context"
	"encoding/binary"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// correlationTTL is how long an SMSC id stays resolvable after its submit
// (DLRs come within the validity period, at most a few days).
const correlationTTL = 7 * 24 * time.Hour

// msgRec is a message loaded into a batch for a read-modify-write. The
// events of one op share it (see batch.recs): they are applied to one
// decoded copy, written once when the op ends.
type msgRec struct {
	m      *core.Message
	queued bool   // holds its q/ key
	final  bool   // final before this event
	dirty  bool   // saved by an event of this op: to encode and write
	raw    []byte // the record as loaded
}

// Record caches. The writer keeps, in memory, the encoded records of
// recently accepted or touched messages that are not final (mcache, keyed
// by message id) and the recent correlation values (ccache, keyed by the
// c/ key), so the events that follow (the submit responses and receipts of
// each part, seconds later) read them without a Badger lookup that goes
// down to the SST levels.
//
// Consistency: only the writer writes m/ and c/ keys, and it updates a
// cache with exactly the value it puts into (or reads through) a batch
// overlay, when the op has succeeded (a failed op's writes are rolled back
// and its cache updates dropped); a final message leaves mcache. So a
// cached value always equals what batch.get would return for its key
// (within an op, the op's own changes are looked up first: batch.recs for
// messages, the overlay for correlations). A failed commit empties both
// (reads then fall back to the overlays still committing and the disk, as
// before).
//
// Three FIFO segments bound each cache by count: accepted messages (filled
// by Accept with the messages a lane keeps in memory; those that go to
// disk are not cached then), messages the refiller read back from disk
// (refill_cache.go) and active entries (touched by an event). An entry
// moves up, never down.
type kvCache struct {
	vals map[string]cacheVal
	segs [3]idRing
}

const (
	segAccepted = 0
	segRefilled = 1
	segActive   = 2
)

type cacheVal struct {
	v   []byte
	at  int64 // batch time of the update, unix nanos
	seg uint8
}

// idRing is a fixed-size FIFO of keys; a slot whose key has left its
// segment meanwhile is stale and ignored on eviction.
type idRing struct {
	ids  []string
	next int
}

func (c *kvCache) init(accepted, refilled, active int) {
	if active <= 0 {
		*c = kvCache{}
		return
	}
	c.vals = make(map[string]cacheVal)
	c.segs[segAccepted] = idRing{ids: make([]string, max(accepted, 1))}
	c.segs[segRefilled] = idRing{ids: make([]string, max(refilled, 1))}
	c.segs[segActive] = idRing{ids: make([]string, active)}
}

// enabled says the cache keeps anything.
func (c *kvCache) enabled() bool { return c.vals != nil }

func (c *kvCache) get(k string) (cacheVal, bool) {
	if c.vals == nil {
		return cacheVal{}, false
	}
	e, ok := c.vals[k]
	return e, ok
}

// put stores k's value in segment seg (an active entry stays active).
func (c *kvCache) put(k string, v []byte, at int64, seg uint8) {
	if c.vals == nil {
		return
	}
	if e, ok := c.vals[k]; ok && e.seg >= seg {
		c.vals[k] = cacheVal{v: v, at: at, seg: e.seg}
		return
	}
	// A key may point into a record (a decoded message's ID); the rings
	// keep keys after their entries left, and the map keeps a key while
	// its value changes: a copy of its own holds no record alive.
	k = strings.Clone(k)
	r := &c.segs[seg]
	if old := r.ids[r.next]; old != "" {
		if e, ok := c.vals[old]; ok && e.seg == seg {
			delete(c.vals, old)
		}
	}
	r.ids[r.next] = k
	r.next = (r.next + 1) % len(r.ids)
	c.vals[k] = cacheVal{v: v, at: at, seg: seg}
}

func (c *kvCache) del(k string) {
	if c.vals != nil {
		delete(c.vals, k)
	}
}

// reset empties the cache (after a failed commit).
func (c *kvCache) reset() {
	if c.vals == nil {
		return
	}
	clear(c.vals)
	for i := range c.segs {
		clear(c.segs[i].ids)
		c.segs[i].next = 0
	}
}

// cacheUpdate is a cache change held until its op succeeds.
type cacheUpdate struct {
	c   *kvCache
	k   string
	v   []byte // nil: remove
	seg uint8
}

// getCorrelation reads c/<op>/<canon> as this op sees it.
func (b *batch) getCorrelation(op, canon string) ([]byte, bool, error) {
	k := correlationKey(op, canon)
	if e, ok := b.ov[string(k)]; ok {
		if e.del {
			return nil, false, nil
		}
		return e.val, true, nil
	}
	cc := &b.s.ccache
	// An entry older than the key's TTL may be gone from disk: ask it.
	if e, ok := cc.get(string(k)); ok && b.now.UnixNano()-e.at < int64(correlationTTL-time.Hour) {
		return e.v, true, nil
	}
	v, ok, err := b.get(k)
	if ok && err == nil && cc.vals != nil {
		b.cacheUpd = append(b.cacheUpd, cacheUpdate{c: cc, k: string(k), v: v, seg: segActive})
	}
	return v, ok, err
}

// setCorrelation writes c/<op>/<canon> → part + id.
func (b *batch) setCorrelation(op, canon string, part int, id string) {
	k := correlationKey(op, canon)
	v := encodeCorrelation(part, id)
	b.setTTL(k, v, correlationTTL)
	if cc := &b.s.ccache; cc.vals != nil {
		b.cacheUpd = append(b.cacheUpd, cacheUpdate{c: cc, k: string(k), v: v, seg: segActive})
	}
}

// endOp runs after each op's apply: when it succeeded, the records its
// events changed are encoded and written once each, and the cache takes
// the op's updates; when it failed, both are dropped (its writes are
// rolled back).
func (b *batch) endOp(ok bool) {
	if ok {
		for _, rec := range b.recOrder {
			m := rec.m
			switch {
			case rec.dirty:
				v := encodeMessage(make([]byte, 0, 128+len(m.Text)+len(m.History)*48), m, rec.queued)
				b.set(messageKey(m.ID), v)
				if rec.final {
					b.s.mcache.del(m.ID)
				} else {
					b.s.mcache.put(m.ID, v, 0, segActive)
				}
			case !rec.final:
				// Read, unchanged (e.g. a repeated response): keep it handy.
				b.s.mcache.put(m.ID, rec.raw, 0, segActive)
			}
		}
		at := b.now.UnixNano()
		for _, u := range b.cacheUpd {
			if u.v == nil {
				u.c.del(u.k)
			} else {
				u.c.put(u.k, u.v, at, u.seg)
			}
		}
	}
	clear(b.recOrder)
	b.recOrder = b.recOrder[:0]
	clear(b.recs)
	clear(b.cacheUpd)
	b.cacheUpd = b.cacheUpd[:0]
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
	wait, err := s.RecordStart(ctx, events)
	if err != nil {
		return err
	}
	return wait()
}

// RecordStart is Record in two steps: it returns once the writer has taken
// the events (so Records started one after another are applied in that
// order), and wait returns once they are on disk, with Record's error. A
// caller may start the next Record before waiting for this one. wait must
// be called exactly once.
func (s *Store) RecordStart(ctx context.Context, events []core.Event) (wait func() error, err error) {
	if len(events) == 0 {
		return func() error { return nil }, nil
	}
	evs := append([]core.Event(nil), events...)
	for i := range evs {
		if err := validateEvent(&evs[i]); err != nil {
			return nil, err
		}
	}
	o := &op{items: len(evs), class: classEvent, apply: func(b *batch) error {
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
	t0 := time.Now()
	if err := s.enqueue(ctx, o); err != nil {
		return nil, err
	}
	return func() error { return s.wait(o, t0) }, nil
}

// loadMessage returns the message as this op sees it: the record an
// earlier event of the op loaded (and maybe changed), else the cached or
// stored record, decoded. nil if there is no such message.
func (b *batch) loadMessage(id string) (*msgRec, error) {
	if rec := b.recs[id]; rec != nil {
		return rec, nil
	}
	e, cached := b.s.mcache.get(id)
	v := e.v
	if cached {
		b.s.metrics.cacheHits.Inc()
	} else {
		b.s.metrics.cacheMisses.Inc()
		var ok bool
		var err error
		v, ok, err = b.get(messageKey(id))
		if err != nil || !ok {
			return nil, err
		}
	}
	// v is never modified (b.get and the cache hand out immutable values).
	m, queued, err := decodeMessageShared(v)
	if err != nil {
		return nil, err
	}
	rec := &msgRec{m: m, queued: queued, final: m.Status.Final(), raw: v}
	if b.recs == nil {
		b.recs = make(map[string]*msgRec)
	}
	b.recs[id] = rec
	b.recOrder = append(b.recOrder, rec)
	return rec, nil
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
			b.setCorrelation(op, c, part, m.ID)
			// A receipt that came before this response?
			if s.pending.mayHave(op, c) {
				if err := s.takePending(b, rec, part, op, c, e.SMSCID); err != nil {
					return err
				}
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
		s.unknownParts.Add(1) // counted at once (writer-owned), so later batches search
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

// takePending applies and removes the pending receipt stored under one
// of the readings of the submit's SMSC id (canonical c first), if any.
func (s *Store) takePending(b *batch, rec *msgRec, part int, op, c, smscid string) error {
	try := func(v string) (bool, error) {
		k := pendingDLRKey(op, v)
		raw, ok, err := b.get(k)
		if err != nil || !ok {
			return false, err
		}
		b.del(k)
		b.effect(func() { s.pending.remove(op, v) })
		dlr, err := decodeDLR(raw)
		if err != nil {
			s.log.Warn().Err(err).Msg("store: bad pending receipt dropped")
			return true, nil
		}
		dlr.Operator = op
		s.applyReceipt(b, rec, part, &dlr)
		return true, nil
	}
	if found, err := try(c); found || err != nil {
		return err
	}
	for _, v := range smscIDVariants(smscid)[1:] {
		if found, err := try(v); found || err != nil {
			return err
		}
	}
	return nil
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
	// The canonical reading first; the others (big-number conversions)
	// only when it is not known.
	c := canonSMSCID(e.SMSCID)
	var variants []string
	for i := 0; c != ""; i++ {
		v := c
		if i > 0 {
			if i == 1 {
				variants = smscIDVariants(e.SMSCID)
			}
			if i >= len(variants) {
				break
			}
			v = variants[i]
		}
		raw, ok, err := b.getCorrelation(e.Operator, v)
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
	if e.Phone != "" && s.unknownParts.Load() > 0 {
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
				if c != "" {
					b.setCorrelation(opOf(e, rec.m), c, part, id)
				}
				if s.applyReceipt(b, rec, part, e) {
					s.saveMessage(b, rec, e.ErrorCode)
				}
				return nil
			}
		}
	}
	if c != "" {
		b.setTTL(pendingDLRKey(e.Operator, c), encodeDLR(make([]byte, 0, 64), e), b.s.cfg.PendingDLRTTL)
		// Indexed at once (writer-owned), so later ops and batches look it up.
		s.pending.add(e.Operator, c, b.now.Add(b.s.cfg.PendingDLRTTL))
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
	b.effect(func() { s.unknownParts.Add(-1) })
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
		if s.cfg.ReportsWanted || m.CallbackURL != "" {
			b.addReport(m, errCode, at)
		}
	}
	rec.dirty = true // written when the op ends (endOp)
}

// pendingIndex over-approximates the pending receipts (d/ keys) by the
// readings of their SMSC ids, so a submit response looks pending receipts
// up only when one may match it: per (operator, reading) a reference count
// and the latest expiry. An entry is added when its key is written (before
// the commit), removed after its deletion is committed, and forgotten once
// its TTL has passed (with a margin: Badger counts the TTL from the
// commit). Receipts whose id is too long to convert cheaply, or whose key
// cannot be split, are counted under the wildcard.
type pendingIndex struct {
	mu        sync.Mutex // the writer reads and adds; commit effects remove
	m         map[pendKey]pendEnt
	nextSweep time.Time
	now       func() time.Time
}

type pendKey struct{ op, id string }

type pendEnt struct {
	refs  int
	until time.Time
}

// pendWild is the index key of receipts not indexed by reading.
func pendWild() pendKey { return pendKey{id: "*"} }

// pendIndexable bounds the canonical ids indexed by reading: every reading
// of such an id is at most maxSMSCIDLen long, so the relation "is a
// reading of" is symmetric between them.
const pendIndexable = 40

// pendMargin is added to a pending receipt's TTL in the index.
const pendMargin = 10 * time.Minute

func (x *pendingIndex) init(now func() time.Time) {
	x.m = make(map[pendKey]pendEnt)
	x.now = now
}

func (x *pendingIndex) keys(op, canon string) []pendKey {
	if len(canon) > pendIndexable || strings.Contains(op, "/") {
		return []pendKey{pendWild()}
	}
	vs := smscIDVariants(canon)
	out := make([]pendKey, len(vs))
	for i, v := range vs {
		out[i] = pendKey{op, v}
	}
	return out
}

// add indexes the pending receipt d/<op>/<canon>, kept until until.
func (x *pendingIndex) add(op, canon string, until time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	until = until.Add(pendMargin)
	for _, k := range x.keys(op, canon) {
		e := x.m[k]
		e.refs++
		if until.After(e.until) {
			e.until = until
		}
		x.m[k] = e
	}
	if now := x.now(); now.After(x.nextSweep) {
		for k, e := range x.m {
			if now.After(e.until) {
				delete(x.m, k)
			}
		}
		x.nextSweep = now.Add(time.Minute)
	}
}

// remove is the post-commit effect of deleting d/<op>/<canon>.
func (x *pendingIndex) remove(op, canon string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range x.keys(op, canon) {
		e, ok := x.m[k]
		if !ok {
			continue
		}
		if e.refs--; e.refs <= 0 {
			delete(x.m, k)
		} else {
			x.m[k] = e
		}
	}
}

// mayHave reports whether a pending receipt may be stored under a reading
// of the canonical id canon.
func (x *pendingIndex) mayHave(op, canon string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.m) == 0 {
		return false
	}
	now := x.now()
	if e, ok := x.m[pendWild()]; ok && !now.After(e.until) {
		return true
	}
	e, ok := x.m[pendKey{op, canon}]
	return ok && !now.After(e.until)
}
