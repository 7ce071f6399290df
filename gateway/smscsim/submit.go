package smscsim

import (
	"time"
)

// handleSubmit answers a submit_sm after the configured faults, files the
// accepted part and arranges its receipt. false means stop reading.
func (c *conn) handleSubmit(h header, frame []byte) bool {
	s := c.s
	if !c.mode.canTransmit() {
		c.writeSubmitResp(statusInvBndSts, h.Seq, 0)
		return true
	}
	sub, err := parseSubmit(frame)
	if err != nil {
		c.log.Debug().Err(err).Uint32("seq", h.Seq).Msg("undecodable submit_sm; generic_nack")
		c.writeHeaderOnly(idGenericNack, statusInvCmdLen, h.Seq)
		return true
	}
	if sub.USSDOp >= 0 {
		c.handleUSSDReply(h, &sub)
		return true
	}
	f := s.faults.Load()
	s.submits.Add(1)
	c.submits++
	if f.UnknownPDUEvery > 0 && c.submits%f.UnknownPDUEvery == 0 {
		c.sendUnknown()
	}
	if f.DropAfterSubmits > 0 && c.submits >= f.DropAfterSubmits {
		c.log.Info().Int("submits", c.submits).Msg("fault: dropping connection")
		c.closeAfterFlush()
		return false
	}
	now := time.Now()
	if f.MaxTPS > 0 {
		if sec := now.Unix(); sec != c.tpsSec {
			c.tpsSec, c.tpsCount = sec, 0
		}
		if c.tpsCount >= f.MaxTPS {
			s.throttled.Add(1)
			s.m.throttled.Inc()
			c.writeSubmitResp(statusThrottled, h.Seq, 0)
			return true
		}
		c.tpsCount++
	}
	if p := f.ThrottleShare + f.QueueFullShare + f.RejectShare; p > 0 {
		r := c.rng.Float64()
		switch {
		case r < f.ThrottleShare:
			s.throttled.Add(1)
			s.m.throttled.Inc()
			c.writeSubmitResp(statusThrottled, h.Seq, 0)
			return true
		case r < f.ThrottleShare+f.QueueFullShare:
			s.throttled.Add(1)
			s.m.queueFull.Inc()
			c.writeSubmitResp(statusMsgQFul, h.Seq, 0)
			return true
		case r < p:
			s.rejected.Add(1)
			s.m.rejected.Inc()
			c.writeSubmitResp(statusInvDstAdr, h.Seq, 0)
			return true
		}
	}

	// Accepted.
	id := s.nextID.Add(1)
	s.parts.Add(1)
	s.m.accepted.Inc()
	text := s.recordPart(&sub, now)
	delivered := !(f.UndelivShare > 0 && c.rng.Float64() < f.UndelivShare)
	var d *dlr
	if wantDLR(sub.RegisteredDelivery, delivered) {
		d = &dlr{
			src: sub.Dst, srcTON: sub.DstTON, srcNPI: sub.DstNPI,
			dst: sub.Src, dstTON: sub.SrcTON, dstNPI: sub.SrcNPI,
			submitAt: now, delivered: delivered, text: text,
			systemID: c.systemID, origin: c,
		}
		d.id = string(appendID(nil, id, s.dlrHex))
	}
	noResp := f.NoResponseShare > 0 && c.rng.Float64() < f.NoResponseShare
	before := d != nil && f.DLRBeforeResp > 0 && c.rng.Float64() < f.DLRBeforeResp

	switch {
	case noResp:
		c.awaitResp(h.Seq) // in flight for ever, as far as the client knows
		if d != nil {
			c.dispatchDLR(d, now, s.cfg.DLRDelay)
		}
	case before:
		c.awaitResp(h.Seq)
		s.routeDLR(d)
		c.respondLater(h.Seq, id, now, f.ResponseDelay)
	default:
		if f.ResponseDelay > 0 {
			c.awaitResp(h.Seq)
		}
		c.respondLater(h.Seq, id, now, f.ResponseDelay)
		if d != nil {
			c.dispatchDLR(d, now, f.ResponseDelay+s.cfg.DLRDelay)
		}
	}
	return true
}

// respondLater writes an accepting submit_sm_resp now or after delay.
func (c *conn) respondLater(seq uint32, id uint64, now time.Time, delay time.Duration) {
	if delay <= 0 {
		c.writeSubmitResp(statusOK, seq, id)
		return
	}
	c.s.sched.at(now.Add(delay), func() { c.writeSubmitResp(statusOK, seq, id) })
}

// dispatchDLR routes d now or after delay.
func (c *conn) dispatchDLR(d *dlr, now time.Time, delay time.Duration) {
	if delay <= 0 {
		c.s.routeDLR(d)
		return
	}
	c.s.sched.at(now.Add(delay), func() { c.s.routeDLR(d) })
}

// sendUnknown sends the client a PDU it may not know (fault UnknownPDUEvery).
func (c *conn) sendUnknown() {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return
	}
	c.wbuf = appendUnknownPDU(c.wbuf, c.unknownTurn, c.nextSeq())
	c.unknownTurn++
	c.wmu.Unlock()
	c.kick(false)
}
