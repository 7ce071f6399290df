package gateway

import (
	"context"
	"sync"
	"time"

	"vneidgw/core"
)

// outcomeKind is what became of one part (or a standalone event).
type outcomeKind uint8

const (
	okSubmitted outcomeKind = iota + 1 // submit_sm_resp OK
	okUnknown                          // no response (timeout or connection lost): never resent
	okRetry                            // temporary status: the part goes back to the queue
	okFinal                            // permanent status: the message is rejected
	okNotSent                          // never handed to a session: back to the queue
	okLate                             // submit_sm_resp after the timeout
	okEvent                            // a ready event (expired, encoding)
	okDLR                              // a final delivery receipt, acknowledged once recorded
)

// outcome is pushed by senders and sessions, consumed by the completer.
type outcome struct {
	kind   outcomeKind
	ms     *msgState
	part   int // 0-based
	status CommandStatus
	smscID string
	reason string
	sentAt time.Time
	at     time.Time
	token  bool // holds an unsettled slot, freed once recorded

	lateMsgID string
	ev        *core.Event

	// okDLR: the session and sequence number to answer with deliver_sm_resp
	// once the receipt is on disk.
	sess *session
	seq  uint32
}

// heldDLR is a receipt held back until its message's submit events are
// recorded (see bind.awaiting).
type heldDLR struct {
	ev  core.Event
	ack dlrAck
}

// dlrAck is a deliver_sm_resp owed once the batch is recorded.
type dlrAck struct {
	sess *session
	seq  uint32
}

// partRef names one sent part of a message the completer has not finished.
type partRef struct {
	ms   *msgState
	part int // 0-based
}

// msgState follows one leased message until every sent part has an
// outcome. The sender fills it before the first part goes out; after that
// only the completer touches it (and the message).
type msgState struct {
	m         *core.Message
	sendIdx   []int
	remaining int
	res       []outcome
	// pool is the unsettled-slot pool the parts were sent with.
	pool chan struct{}
	// tokens are the unsettled slots held by parts that already have an
	// outcome: they are freed only once the message's events are recorded
	// (when its last part has an outcome), so a crash never finds more than
	// the window of sent-but-unrecorded parts.
	tokens int
	// held are receipts for parts of this message that came before its
	// last part's outcome: recorded right after its submit events.
	held []heldDLR
}

// outbox is an unbounded hand-off from the reader/sender to the completer:
// pushing never blocks the reader. The unsettled semaphore bounds it.
type outbox struct {
	mu     sync.Mutex
	items  []outcome
	spare  []outcome
	notify chan struct{}
}

func (o *outbox) push(x outcome) {
	o.mu.Lock()
	o.items = append(o.items, x)
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

func (o *outbox) take() []outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	items := o.items
	o.items = o.spare[:0]
	o.spare = nil
	return items
}

func (o *outbox) giveBack(items []outcome) {
	clear(items)
	o.mu.Lock()
	if o.spare == nil {
		o.spare = items[:0]
	}
	o.mu.Unlock()
}

type retryItem struct {
	m  *core.Message
	at time.Time
}

// completer turns outcomes into batched Queue.Record calls and Retry. With
// a queue that can start a Record before the previous one is on disk
// (recordStarter), the completer only starts each Record, in order, and a
// settler goroutine waits for them, in the same order, then answers the
// receipts, re-queues retries and frees the unsettled slots: outcomes that
// arrive while one Record commits go to the writer at once instead of
// waiting for it.
func (b *bind) completer(stop <-chan struct{}) {
	settleCh := make(chan *settlement, maxSettling)
	spare := make(chan *settlement, maxSettling+1)
	settled := make(chan struct{})
	recycle := func(st *settlement) {
		st.reset()
		select {
		case spare <- st:
		default:
		}
	}
	go func() {
		defer close(settled)
		for st := range settleCh {
			b.settle(st)
			recycle(st)
		}
	}()
	defer func() {
		close(settleCh)
		<-settled
	}()
	next := func() *settlement {
		select {
		case st := <-spare:
			return st
		default:
			return &settlement{}
		}
	}
	round := func(items []outcome) {
		if st := next(); !b.complete(items, st, settleCh) {
			recycle(st)
		}
	}
	for {
		select {
		case <-b.outbox.notify:
		case <-stop:
			if items := b.outbox.take(); len(items) > 0 {
				round(items)
			}
			return
		}
		items := b.outbox.take()
		round(items)
		b.outbox.giveBack(items)
	}
}

// maxSettling bounds the Records a bind has started and not yet settled.
const maxSettling = 4

// recordStarter is a queue whose Record can be started in order and waited
// for later (core/store's Store).
type recordStarter interface {
	RecordStart(ctx context.Context, events []core.Event) (wait func() error, err error)
}

// settlement is what one completer round owes once its events are on
// disk: receipts to answer, retries to queue, slots to free.
type settlement struct {
	events  []core.Event
	retries []retryItem
	acks    []dlrAck
	tokens  int
	express int
	// sent are the send times of the parts whose slots the settlement
	// frees, for vneidgw_gateway_unsettled_hold_seconds.
	sent []time.Time
	// wait, when set, waits for the Record already started; without it
	// the settler records the events itself.
	wait func() error
}

func (st *settlement) reset() {
	clear(st.events)
	clear(st.retries)
	clear(st.acks)
	*st = settlement{events: st.events[:0], retries: st.retries[:0], acks: st.acks[:0], sent: st.sent[:0]}
}

// complete classifies one round of outcomes into st and hands it to
// settleCh (after starting its Record when the queue allows; it reports
// true), or settles it itself (false: st is the caller's again).
func (b *bind) complete(items []outcome, st *settlement, settleCh chan<- *settlement) bool {
	now := time.Now()
	events, retries, acks, sent := st.events[:0], st.retries[:0], st.acks[:0], st.sent[:0]
	tokens, expressTokens := 0, 0
	for i := range items {
		o := &items[i]
		if o.token && o.ms == nil {
			tokens++
		}
		switch o.kind {
		case okDLR:
			// A receipt for a part of a message still waiting for another
			// part's response waits with it: recorded before the submit
			// event, it would find no correlation and be parked on disk.
			if ref, ok := b.awaiting[o.ev.SMSCID]; ok {
				ev := *o.ev
				ev.MessageID, ev.Part = ref.ms.m.ID, ref.part+1
				ref.ms.held = append(ref.ms.held, heldDLR{ev: ev, ack: dlrAck{o.sess, o.seq}})
				continue
			}
			events = append(events, *o.ev)
			acks = append(acks, dlrAck{o.sess, o.seq})
			continue
		case okEvent:
			if o.ev.Kind == core.EventExpired {
				b.mExpired.Inc()
			} else {
				b.mRejected.Inc()
			}
			events = append(events, *o.ev)
			continue
		case okLate:
			b.mLate.Inc()
			ev := core.Event{MessageID: o.lateMsgID, Part: o.part + 1, Operator: b.op.name, Bind: b.cfg.Name,
				SMSCID: o.smscID, SMPPStatus: uint32(o.status), At: o.at}
			if o.status == StatusOK {
				ev.Kind = core.EventSubmitted
				b.mParts.Inc()
			} else {
				// the part is not resent (its lease has ended): rejected
				ev.Kind, ev.ErrorCode = core.EventRejected, "late_"+statusCode(o.status)
			}
			b.log.Info().Str("message_id", o.lateMsgID).Int("part", o.part+1).Msg("late submit_sm_resp")
			events = append(events, ev)
			continue
		case okSubmitted:
			b.mOK.Inc()
			b.mParts.Inc()
			b.mSubmitDur.Observe(o.at.Sub(o.sentAt).Seconds())
		case okUnknown:
			b.mUnknown.Inc()
		case okRetry:
			if o.status.Throttled() {
				b.mThrottled.Inc()
			} else {
				b.mRetry.Inc()
			}
			b.mSubmitDur.Observe(o.at.Sub(o.sentAt).Seconds())
		case okFinal:
			b.mRejected.Inc()
			b.mSubmitDur.Observe(o.at.Sub(o.sentAt).Seconds())
		}
		ms := o.ms
		ms.res[o.part] = *o
		ms.remaining--
		if o.token {
			ms.tokens++
		}
		if ms.remaining > 0 && o.kind == okSubmitted && o.smscID != "" {
			b.awaiting[o.smscID] = partRef{ms, o.part}
		}
		if ms.remaining == 0 {
			for _, j := range ms.sendIdx {
				if r := &ms.res[j]; r.kind == okSubmitted && r.smscID != "" {
					delete(b.awaiting, r.smscID)
				}
			}
			events, retries = b.finish(ms, now, events, retries)
			for _, h := range ms.held {
				events = append(events, h.ev)
				acks = append(acks, h.ack)
			}
			ms.held = nil
			if ms.pool == b.express {
				expressTokens += ms.tokens
			} else {
				tokens += ms.tokens
			}
			for _, j := range ms.sendIdx {
				if r := &ms.res[j]; r.token && !r.sentAt.IsZero() {
					sent = append(sent, r.sentAt)
				}
			}
		}
	}
	st.events, st.retries, st.acks, st.sent = events, retries, acks, sent
	st.tokens, st.express = tokens, expressTokens
	if rs, ok := b.g.q.(recordStarter); ok {
		if len(events) > 0 {
			ctx, cancel := b.recordCtx()
			wait, err := rs.RecordStart(ctx, events)
			cancel()
			if err != nil {
				b.log.Warn().Err(err).Msg("record not started; recording synchronously")
			}
			st.wait = wait
		}
		settleCh <- st
		return true
	}
	b.settle(st)
	return false
}

// settle waits for st's Record (or records its events, retrying, when it
// was not started or failed), then answers the receipts, queues the
// retries and frees the slots.
func (b *bind) settle(st *settlement) {
	events, acks := st.events, st.acks
	if len(events) > 0 {
		status := uint32(0)
		var err error
		if st.wait != nil {
			err = st.wait()
			if err != nil {
				b.log.Warn().Err(err).Msg("record failed")
			}
		}
		if st.wait == nil || err != nil {
			if len(acks) == 0 {
				err = b.recordPersistent(events)
			} else if err = b.record(events); err != nil {
				// Receipts not on disk: the SMSC is asked to deliver them
				// again; the outcomes are retried without them.
				status = uint32(StatusSystemError)
				rest := events[:0]
				for _, ev := range events {
					if ev.Kind != core.EventDLR {
						rest = append(rest, ev)
					}
				}
				events, err = rest, nil
				if len(rest) > 0 {
					err = b.recordPersistent(rest)
				}
			}
		}
		if err != nil {
			b.log.Error().Err(err).Int("events", len(events)).Msg("outcomes not recorded")
		}
		for _, a := range acks {
			a.sess.sendDeliverResp(status, a.seq)
		}
	}
	for _, r := range st.retries {
		b.g.q.Retry(r.m, r.at)
	}
	for range st.tokens {
		<-b.unsettled
	}
	if len(st.sent) > 0 {
		now := time.Now()
		for _, t := range st.sent {
			b.mSlotHold.Observe(now.Sub(t).Seconds())
		}
	}
	for range st.express {
		<-b.express
	}
}

// finish decides the fate of a message whose sent parts all have an
// outcome: record what the SMSC took, then retry or reject.
func (b *bind) finish(ms *msgState, now time.Time, events []core.Event, retries []retryItem) ([]core.Event, []retryItem) {
	m := ms.m
	var final, temp *outcome
	throttled, notSent, allOK := false, false, true
	base := core.Event{MessageID: m.ID, Operator: b.op.name, Bind: b.cfg.Name, At: now}
	for _, i := range ms.sendIdx {
		o := &ms.res[i]
		ev := base
		ev.Part = i + 1
		switch o.kind {
		case okSubmitted:
			ev.Kind, ev.SMSCID = core.EventSubmitted, o.smscID
			m.Parts[i] = core.PartState{Status: core.StatusSubmitted, SMSCID: o.smscID}
			events = append(events, ev)
		case okUnknown:
			allOK = false
			ev.Kind, ev.ErrorCode = core.EventUnknown, o.reason
			m.Parts[i].Status = core.StatusUnknown
			events = append(events, ev)
		case okFinal:
			allOK = false
			if final == nil {
				final = o
			}
		case okRetry:
			allOK = false
			if o.status.Throttled() {
				throttled = true
			} else if temp == nil {
				temp = o
			}
		case okNotSent:
			allOK = false
			notSent = true
		}
	}
	if allOK && !m.CreatedAt.IsZero() {
		// Timed at the last submit_sm_resp, not when the completer gets to it.
		var last time.Time
		for _, i := range ms.sendIdx {
			if at := ms.res[i].at; at.After(last) {
				last = at
			}
		}
		b.mAcceptToSubmit[min(int(m.Priority), core.NumPriorities-1)].Observe(last.Sub(m.CreatedAt).Seconds())
	}
	reject := func(o *outcome, code string) []core.Event {
		ev := base
		ev.Kind, ev.Part, ev.SMPPStatus, ev.ErrorCode = core.EventRejected, o.part+1, uint32(o.status), code
		return append(events, ev)
	}
	switch {
	case final != nil:
		return reject(final, statusCode(final.status)), retries
	case temp != nil:
		m.Attempts++
		if m.Attempts >= b.g.cfg.MaxAttempts {
			return reject(temp, "max_attempts"), retries
		}
		return events, append(retries, retryItem{m, now.Add(backoff(b.g.cfg.RetryMin, b.g.cfg.RetryMax, m.Attempts))})
	case throttled:
		return events, append(retries, retryItem{m, now.Add(b.throttleBackoff())})
	case notSent:
		return events, append(retries, retryItem{m, now})
	}
	return events, retries
}

// record writes events, retrying a failed Record twice.
func (b *bind) record(events []core.Event) error {
	var err error
	for attempt := range 3 {
		ctx, cancel := b.recordCtx()
		err = b.g.q.Record(ctx, events)
		cancel()
		if err == nil {
			return nil
		}
		b.log.Warn().Err(err).Int("attempt", attempt+1).Msg("record failed")
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
	return err
}

// recordPersistent records the completer's events, retrying with
// back-off as long as the gateway runs (the unsettled tokens it holds
// meanwhile stop the sender: no new submits while outcomes cannot be
// stored); after shutdown it gives up after three attempts.
func (b *bind) recordPersistent(events []core.Event) error {
	for n := 1; ; n++ {
		err := b.record(events)
		if err == nil || b.runCtx.Err() != nil {
			return err
		}
		b.log.Error().Err(err).Int("round", n).Msg("outcomes not recorded yet, retrying")
		if !sleepCtx(b.runCtx, backoff(b.g.cfg.RetryMin, b.g.cfg.RetryMax, n)) {
			return b.record(events)
		}
	}
}

// statusCode is the ErrorCode text of an SMPP status, e.g. "smpp_0x0B".
func statusCode(s CommandStatus) string {
	const hex = "0123456789ABCDEF"
	v := uint32(s)
	if v <= 0xFF {
		return "smpp_0x" + string([]byte{hex[v>>4], hex[v&15]})
	}
	out := []byte("smpp_0x00000000")
	for i := 14; i >= 7; i-- {
		out[i] = hex[v&15]
		v >>= 4
	}
	return string(out)
}
