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

// inboundWorker handles deliver_sm off the reader: final DLRs go to the
// bind's completer, behind the submit_sm_resp outcomes the reader pushed
// before them, so a receipt is recorded after its submit (one Record for
// both) and its deliver_sm_resp is sent only once it is on disk; USSD
// requests go to the USSD handler; other MO messages are acknowledged and
// dropped.
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
			b.outbox.push(outcome{kind: okDLR, sess: s, seq: h.Seq, ev: &core.Event{
				Kind: core.EventDLR, Operator: b.op.name, Bind: b.cfg.Name, SMSCID: d.SMSCID,
				Status: d.Status, ErrorCode: d.ErrorCode, Phone: d.Phone, At: now,
			}})
		}
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
