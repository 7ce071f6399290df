package smscsim

import (
	"time"
)

// dlr is a delivery receipt owed to the client for one accepted part.
type dlr struct {
	id        string // as written in the receipt (DLRIDFormat)
	src, dst  string // the receipt's source (= the part's destination) and destination (= its source)
	srcTON    uint8
	srcNPI    uint8
	dstTON    uint8
	dstNPI    uint8
	submitAt  time.Time
	delivered bool
	text      string // the part's first 20 characters
	systemID  string
	origin    *conn // the submitting bind; preferred when it can receive
	attempts  int   // retransmissions so far
}

// outPDU is a deliver_sm sent and not yet acknowledged.
type outPDU struct {
	sentAt int64      // UnixNano
	dlr    *dlr       // nil for a USSD deliver_sm
	ussd   chan error // USSD: receives the deliver_sm_resp outcome
}

type sentRef struct {
	seq uint32
	at  int64
}

// wantDLR reports whether registered_delivery asks for a receipt with
// this outcome: 1 = every final outcome, 2 = failures only.
func wantDLR(rd uint8, delivered bool) bool {
	switch rd & 0x03 {
	case 1:
		return true
	case 2:
		return !delivered
	}
	return false
}

// appendReceiptText writes the SMPP 3.4 appendix B receipt text.
func appendReceiptText(b []byte, d *dlr, done time.Time) []byte {
	b = append(b, "id:"...)
	b = append(b, d.id...)
	b = append(b, " sub:001 dlvrd:"...)
	if d.delivered {
		b = append(b, "001"...)
	} else {
		b = append(b, "000"...)
	}
	b = append(b, " submit date:"...)
	b = d.submitAt.UTC().AppendFormat(b, "0601021504")
	b = append(b, " done date:"...)
	b = done.UTC().AppendFormat(b, "0601021504")
	if d.delivered {
		b = append(b, " stat:DELIVRD err:000 text:"...)
	} else {
		b = append(b, " stat:UNDELIV err:001 text:"...)
	}
	n := 0
	for _, r := range d.text {
		if n == 20 {
			break
		}
		if r < 0x20 || r >= 0x7f || r == '@' || r == '$' || r == '_' {
			r = '.' // keep the receipt plain ASCII that reads the same in GSM-7
		}
		b = append(b, byte(r))
		n++
	}
	return b
}

// sendDLR queues d on this connection; false if the connection is closed.
func (c *conn) sendDLR(d *dlr) bool {
	now := time.Now()
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return false
	}
	c.appendDLRLocked(d, now)
	over := len(c.wbuf) > maxWriteBacklog
	c.wmu.Unlock()
	c.kick(over)
	return true
}

// appendDLRLocked encodes d as a deliver_sm and tracks it until its resp.
// Call with c.wmu held.
func (c *conn) appendDLRLocked(d *dlr, now time.Time) {
	seq := c.nextSeq()
	if c.s.faults.Load().DLRSeqCollide && len(c.unanswered) > 0 {
		// Reuse the number of a submit_sm the client is still waiting on.
		seq = c.unanswered[len(c.unanswered)-1]
	}
	state := messageStateDeliv
	if !d.delivered {
		state = messageStateUndeliv
	}
	c.scratch = c.scratch[:0]
	if !c.s.faults.Load().DLRTLVOnly {
		c.scratch = appendReceiptText(c.scratch, d, now)
	}
	textLen := len(c.scratch)
	c.scratch = append(c.scratch, d.id...)
	c.scratch = append(c.scratch, 0)
	idEnd := len(c.scratch)
	c.scratch = append(c.scratch, state)
	pdu := deliverSM{
		SrcTON: d.srcTON, SrcNPI: d.srcNPI, Src: d.src,
		DstTON: d.dstTON, DstNPI: d.dstNPI, Dst: d.dst,
		ESMClass: 0x04,
		SM:       c.scratch[:textLen],
		TLVs: []tlvField{
			{Tag: tagReceiptedMsgID, Value: c.scratch[textLen:idEnd]},
			{Tag: tagMessageState, Value: c.scratch[idEnd:]},
		},
	}
	c.wbuf = appendDeliverSM(c.wbuf, seq, &pdu)
	at := now.UnixNano()
	c.outstanding[seq] = &outPDU{sentAt: at, dlr: d}
	c.fifo = append(c.fifo, sentRef{seq: seq, at: at})
	c.s.dlrsSent.Add(1)
	c.s.m.dlrsSent.Inc()
}

// ackDeliver settles a deliver_sm_resp.
func (c *conn) ackDeliver(seq, status uint32) {
	c.wmu.Lock()
	o := c.outstanding[seq]
	if o != nil {
		delete(c.outstanding, seq)
	}
	c.wmu.Unlock()
	switch {
	case o == nil:
	case o.ussd != nil:
		var err error
		if status != statusOK {
			err = smppStatusError(status)
		}
		select {
		case o.ussd <- err:
		default:
		}
	default:
		c.s.dlrsAcked.Add(1)
	}
}

// sweep retransmits DLRs left unacknowledged for s.dlrRetry (at most
// maxDLRRetransmits times) and gives up on unanswered USSD deliver_sm.
func (c *conn) sweep(now time.Time) {
	limit := now.Add(-c.s.dlrRetry).UnixNano()
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return
	}
	sent := false
	var ussdLost []chan error
	for c.fifoHead < len(c.fifo) && c.fifo[c.fifoHead].at <= limit {
		e := c.fifo[c.fifoHead]
		c.fifo[c.fifoHead] = sentRef{}
		c.fifoHead++
		o := c.outstanding[e.seq]
		if o == nil || o.sentAt != e.at {
			continue // acknowledged, or sent again since
		}
		delete(c.outstanding, e.seq)
		if o.ussd != nil {
			ussdLost = append(ussdLost, o.ussd)
			continue
		}
		if o.dlr.attempts >= maxDLRRetransmits {
			c.log.Warn().Str("smsc_id", o.dlr.id).Msg("DLR never acknowledged; giving up")
			continue
		}
		o.dlr.attempts++
		c.appendDLRLocked(o.dlr, now)
		sent = true
	}
	if c.fifoHead > 1024 && c.fifoHead*2 > len(c.fifo) {
		n := copy(c.fifo, c.fifo[c.fifoHead:])
		c.fifo = c.fifo[:n]
		c.fifoHead = 0
	}
	c.wmu.Unlock()
	for _, ch := range ussdLost {
		select {
		case ch <- errUSSDTimeout:
		default:
		}
	}
	if sent {
		c.kick(false)
	}
}
