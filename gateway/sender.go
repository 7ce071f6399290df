package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"vneidgw/core"
)

// errNotSent marks a part that never reached a session.
var errNotSent = errors.New("gateway: part not sent")

// sender leases messages from the queue and writes their parts while the
// window has room (pipelined: it never waits for a response).
func (b *bind) sender(ctx context.Context) {
	// Lease a few messages at a time: a new OTP waits at most behind what
	// is leased (each Next serves the OTP lane first), so keep that short;
	// the window still fills from consecutive leases.
	batch := max(1, b.cfg.Window/8)
	if b.cfg.TPS > 0 {
		// about 100 ms of traffic, so a new OTP never waits long behind
		// a leased batch of approvals
		batch = min(batch, max(1, b.cfg.TPS/10))
	}
	next := func(ctx context.Context, lanes []string) ([]*core.Message, error) {
		return b.g.q.Next(ctx, lanes, batch)
	}
	if lq, ok := b.g.q.(laneQueue); ok {
		// The express sender serves the OTP lane: an OTP leased here
		// would wait behind this sender's approvals for window slots.
		next = func(ctx context.Context, lanes []string) ([]*core.Message, error) {
			return lq.NextRange(ctx, lanes, core.PriorityOTP+1, core.NumPriorities-1, batch)
		}
	}
	b.leaseLoop(ctx, b.unsettled, "queue next", next)
}

// leaseLoop leases messages with next while the bind has a session and is
// not paused, and sends them with the unsettled-slot pool given.
func (b *bind) leaseLoop(ctx context.Context, pool chan struct{}, what string, next func(ctx context.Context, lanes []string) ([]*core.Message, error)) {
	for {
		s, err := b.waitSession(ctx)
		if err != nil {
			return
		}
		if !b.waitPause(ctx, s) {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		nctx, cancel := context.WithTimeout(ctx, b.g.nextWait)
		msgs, err := next(nctx, b.g.lanesFor(b))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				b.log.Error().Err(err).Msg(what)
				sleepCtx(ctx, b.g.cfg.RetryMin)
			}
			continue
		}
		for _, m := range msgs {
			b.sendMessage(ctx, s, m, pool)
		}
	}
}

// laneQueue is a queue that can serve its highest-priority lanes alone
// (core/store's Store does); with it each bind runs an express sender.
type laneQueue interface {
	NextRange(ctx context.Context, operators []string, from, upTo core.Priority, max int) ([]*core.Message, error)
}

// expressSender serves only the OTP lane, with its own unsettled slots: the
// main sender may be waiting for slots held by leased approvals, and an OTP
// must not wait behind them.
func (b *bind) expressSender(ctx context.Context, q laneQueue) {
	b.leaseLoop(ctx, b.express, "queue next (otp lane)", func(ctx context.Context, lanes []string) ([]*core.Message, error) {
		return q.NextRange(ctx, lanes, core.PriorityOTP, core.PriorityOTP, 1)
	})
}

// sendMessage submits every still-queued part of m on s. Each part ends
// with exactly one outcome in the outbox.
func (b *bind) sendMessage(ctx context.Context, s *session, m *core.Message, pool chan struct{}) {
	now := time.Now()
	ev := func(kind core.EventKind, code string) {
		b.outbox.push(outcome{kind: okEvent, ev: &core.Event{Kind: kind, MessageID: m.ID, Operator: b.op.name,
			Bind: b.cfg.Name, ErrorCode: code, At: now}})
	}
	if m.Expired(now) {
		ev(core.EventExpired, "validity_passed")
		return
	}
	enc, err := core.EncodeText(m.Text, m.ConcatRef)
	if err != nil || len(enc.Parts) == 0 {
		b.log.Error().Err(err).Str("message_id", m.ID).Msg("text cannot be encoded")
		ev(core.EventRejected, "encoding")
		return
	}
	n := len(enc.Parts)
	if len(m.Parts) != n {
		fresh := true
		for _, p := range m.Parts {
			if p.Status != core.StatusQueued && p.Status != "" {
				fresh = false
			}
		}
		if !fresh {
			b.log.Error().Str("message_id", m.ID).Int("parts", len(m.Parts)).Int("encoded", n).Msg("part count changed after a partial submit")
			ev(core.EventRejected, "parts_mismatch")
			return
		}
		m.Parts = make([]core.PartState, n)
		for i := range m.Parts {
			m.Parts[i].Status = core.StatusQueued
		}
	}
	var idx []int
	for i, p := range m.Parts {
		if p.Status == core.StatusQueued || p.Status == "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		b.log.Warn().Str("message_id", m.ID).Msg("leased message has no queued part")
		return
	}
	src := m.Sender
	if src == "" {
		src = b.g.cfg.Sender
	}
	p := submitSM{
		SourceTON: 5, SourceNPI: 0, Source: src,
		DestTON: 1, DestNPI: 1, Dest: m.To,
		RegDelivery: 1, DataCoding: uint8(enc.Coding),
	}
	if enc.UDH {
		p.ESMClass = 0x40
	}
	if m.Kind == core.KindOTP || m.Priority == core.PriorityOTP {
		p.PriorityFlag = 1
	}
	if m.Validity > 0 {
		left := m.Validity
		if !m.CreatedAt.IsZero() {
			left = m.CreatedAt.Add(m.Validity).Sub(now)
		}
		p.Validity = relativeValidity(max(left, time.Second))
	}
	ms := &msgState{m: m, sendIdx: idx, remaining: len(idx), res: make([]outcome, n), pool: pool}
	for k, i := range idx {
		p.Message = enc.Parts[i]
		if err := b.submitPart(ctx, s, ms, i, &p); err != nil {
			for _, j := range idx[k:] {
				b.outbox.push(outcome{ms: ms, part: j, kind: okNotSent})
			}
			return
		}
		// ms and m now belong to the completer once the last part is out.
	}
}

// submitPart paces, takes a window slot and writes one submit_sm. It
// returns an error only if the part was certainly not handed to the
// session (the caller then reports it not sent).
func (b *bind) submitPart(ctx context.Context, s *session, ms *msgState, part int, p *submitSM) error {
	if ctx.Err() != nil || !b.waitPause(ctx, s) {
		return errNotSent
	}
	if b.limiter != nil {
		if err := b.limiter.Wait(ctx); err != nil {
			return errNotSent
		}
	}
	select {
	case ms.pool <- struct{}{}:
	case <-ctx.Done():
		return errNotSent
	case <-s.done:
		return errNotSent
	}
	bulk := ms.pool != b.express && s.bulk != nil
	giveBack := func() {
		<-ms.pool
		if bulk {
			s.releaseBulk()
		}
	}
	if bulk && !s.acquireBulk(ctx) {
		<-ms.pool
		return errNotSent
	}
	if err := s.acquire(ctx); err != nil {
		giveBack()
		return errNotSent
	}
	fb := b.getBuf()
	*fb = appendSubmitSM((*fb)[:0], 0, p) // seq patched after register
	seq, err := s.register(&pendingReq{respID: cmdSubmitSMResp, kind: reqSubmit, ms: ms, part: part, bulk: bulk}, b.cfg.ResponseTimeout, false)
	if err != nil {
		s.release()
		giveBack()
		b.putBuf(fb)
		return errNotSent
	}
	binary.BigEndian.PutUint32((*fb)[12:16], seq)
	if err := s.send(fb); err != nil && s.unregister(seq) {
		<-ms.pool // the request's window and bulk slots went with unregister
		return errNotSent
	}
	return nil
}

// waitPause waits while the bind is slowed down after a throttle; false
// when ctx or the session ended.
func (b *bind) waitPause(ctx context.Context, s *session) bool {
	for {
		d := time.Until(time.Unix(0, b.pauseUntil.Load()))
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		case <-s.done:
			t.Stop()
			return false
		}
	}
}
