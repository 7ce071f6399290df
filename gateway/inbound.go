package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"vneidgw/core"
)

// maxInboundBatch bounds the deliver_sm handled per Queue.Record.
const maxInboundBatch = 256

// inboundWorker handles deliver_sm off the reader: DLRs are batched into
// one Queue.Record and each deliver_sm_resp is sent only after Record
// returned; USSD requests go to the USSD handler; other MO messages are
// acknowledged and dropped.
func (s *session) inboundWorker() {
	batch := make([][]byte, 0, maxInboundBatch)
	for {
		select {
		case f := <-s.inbound:
			batch = append(batch, f)
		case <-s.done:
			// Record what was already read; the responses cannot go out
			// any more, so the SMSC will deliver those receipts again.
			for more := true; more; {
				select {
				case f := <-s.inbound:
					batch = append(batch, f)
				default:
					more = false
				}
			}
			if len(batch) > 0 {
				s.handleInbound(batch)
			}
			return
		}
		for more := true; more && len(batch) < maxInboundBatch; {
			select {
			case f := <-s.inbound:
				batch = append(batch, f)
			default:
				more = false
			}
		}
		s.handleInbound(batch)
		clear(batch)
		batch = batch[:0]
	}
}

func (s *session) handleInbound(frames [][]byte) {
	b := s.b
	now := time.Now()
	events, acks := s.evBuf[:0], s.ackBuf[:0]
	defer func() {
		clear(events)
		s.evBuf, s.ackBuf = events[:0], acks[:0]
	}()
	for _, frame := range frames {
		h := parseHeader(frame)
		in, err := safeParseDeliverSM(frame)
		if err != nil {
			s.log.Warn().Err(err).Uint32("seq", h.Seq).Msg("undecodable deliver_sm, generic_nack")
			s.nack(h.Seq, StatusInvalidMsgLen)
			continue
		}
		if op, ok := in.tlv(tagUSSDServiceOp); ok {
			s.sendDeliverResp(0, h.Seq)
			u := USSDInbound{
				Operator:    b.op.name,
				Phone:       in.source,
				ServiceCode: in.dest,
				Text:        decodeUSSDText(in.coding, in.message()),
			}
			if len(op) > 0 {
				u.Op = op[0]
			}
			if si, ok := in.tlv(tagITSSessionInfo); ok {
				u.sessionRaw = append([]byte(nil), si...)
				for _, c := range si {
					u.SessionID = u.SessionID<<8 | uint32(c)
				}
			}
			if r, ok := in.tlv(tagUserMessageReference); ok && len(r) == 2 {
				u.UserMessageReference = binary.BigEndian.Uint16(r)
				u.hasUMR = true
			}
			b.handleUSSD(u)
			continue
		}
		d, err := parseDLR(&in)
		switch {
		case errors.Is(err, ErrNotDLR):
			s.log.Debug().Msg("mobile-originated message ignored")
			s.sendDeliverResp(0, h.Seq)
		case err != nil:
			s.log.Warn().Err(err).Msg("unusable delivery receipt")
			s.sendDeliverResp(0, h.Seq)
		case !d.Final:
			b.m.dlrs.WithLabelValues(b.op.name, "intermediate").Inc()
			s.sendDeliverResp(0, h.Seq)
		default:
			b.m.dlrs.WithLabelValues(b.op.name, string(d.Status)).Inc()
			events = append(events, core.Event{
				Kind: core.EventDLR, Operator: b.op.name, Bind: b.cfg.Name, SMSCID: d.SMSCID,
				Status: d.Status, ErrorCode: d.ErrorCode, Phone: d.Phone, At: now,
			})
			acks = append(acks, h.Seq)
		}
	}
	if len(events) == 0 {
		return
	}
	status := uint32(0)
	if err := b.record(events); err != nil {
		// Not on disk: ask the SMSC to deliver the receipts again.
		status = uint32(StatusSystemError)
	}
	for _, seq := range acks {
		s.sendDeliverResp(status, seq)
	}
}

func (s *session) sendDeliverResp(status, seq uint32) {
	if s.isDone() {
		return
	}
	fb := s.b.getBuf()
	*fb = appendDeliverSMResp((*fb)[:0], status, seq)
	_ = s.send(fb)
}

// recordCtx is the context of a Record: not cancelled by shutdown (what
// was received must reach the disk), but bounded.
func (b *bind) recordCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.baseCtx, 30*time.Second)
}
