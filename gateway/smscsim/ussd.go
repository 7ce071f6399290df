package smscsim

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"vneidgw/core"
)

// USSDRequest is a handset's USSD input, sent to the client as a deliver_sm
// with ussd_service_op and its_session_info.
type USSDRequest struct {
	Phone       string // the handset, 84xxxxxxxxx (source_addr)
	ServiceCode string // e.g. "*368#" (destination_addr)
	Text        string // the handset's input, GSM-7 characters
	SessionID   uint32 // its_session_info and user_message_reference carry its low 16 bits
	Op          uint8  // ussd_service_op: 1 PSSR indication (begin), 18 USSR confirm (continue)
}

// USSDReply is the client's answer: a submit_sm carrying ussd_service_op.
type USSDReply struct {
	Phone     string // destination_addr
	Text      string
	SessionID uint32 // from its_session_info, else user_message_reference
	Op        uint8  // 2 PSSR response (end) or 3 USSR request (continue)
}

var (
	errUSSDTimeout    = core.Errorf(core.EUNAVAILABLE, "smscsim: USSD deliver_sm not acknowledged")
	errUSSDConnClosed = core.Errorf(core.EUNAVAILABLE, "smscsim: connection closed before the USSD deliver_sm was acknowledged")
)

// smppStatusError is a non-zero command_status returned by the client.
type smppStatusError uint32

func (e smppStatusError) Error() string { return fmt.Sprintf("SMPP status 0x%08X", uint32(e)) }

// SendUSSD delivers a handset's USSD input to a receiver-capable bind (any
// system_id) and waits for its deliver_sm_resp. With no such bind it
// returns EUNAVAILABLE; a non-zero resp status comes back as an error
// wrapping the status.
func (s *Server) SendUSSD(ctx context.Context, req USSDRequest) error {
	if req.Phone == "" || req.ServiceCode == "" {
		return core.Errorf(core.EINVALID, "smscsim: USSD request needs a phone and a service code")
	}
	if len(req.Text) > 182 {
		return core.Errorf(core.ETOOLARGE, "smscsim: USSD text longer than 182 characters")
	}
	body, ok := core.EncodeGSM7(req.Text)
	if !ok {
		return core.Errorf(core.EINVALID, "smscsim: USSD text is not GSM-7")
	}
	var sess [2]byte
	binary.BigEndian.PutUint16(sess[:], uint16(req.SessionID))
	pdu := deliverSM{
		ServiceType: "USSD",
		SrcTON:      1, SrcNPI: 1, Src: req.Phone,
		DstTON: 0, DstNPI: 0, Dst: req.ServiceCode,
		DataCoding: uint8(core.CodingGSM7),
		SM:         body,
		TLVs: []tlvField{
			{Tag: tagUSSDServiceOp, Value: []byte{req.Op}},
			{Tag: tagITSSessionInfo, Value: sess[:]},
			{Tag: tagUserMessageRef, Value: sess[:]},
		},
	}
	ack := make(chan error, 1)
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return core.Errorf(core.EUNAVAILABLE, "smscsim: server closed")
		}
		var c *conn
		for _, list := range s.rx {
			if len(list) > 0 {
				s.rr++
				c = list[s.rr%uint64(len(list))]
				break
			}
		}
		s.mu.Unlock()
		if c == nil {
			return core.Errorf(core.EUNAVAILABLE, "smscsim: no receiver bind for USSD")
		}
		if c.sendUSSD(&pdu, ack) {
			break
		}
	}
	select {
	case err := <-ack:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return core.Errorf(core.EUNAVAILABLE, "smscsim: server closed")
	}
}

func (c *conn) sendUSSD(d *deliverSM, ack chan error) bool {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return false
	}
	seq := c.nextSeq()
	c.wbuf = appendDeliverSM(c.wbuf, seq, d)
	at := time.Now().UnixNano()
	c.outstanding[seq] = &outPDU{sentAt: at, ussd: ack}
	c.fifo = append(c.fifo, sentRef{seq: seq, at: at})
	c.wmu.Unlock()
	c.kick(false)
	return true
}

// handleUSSDReply answers a submit_sm that carries ussd_service_op and
// hands it to USSDReplies (dropped, with a log line, if nobody reads).
func (c *conn) handleUSSDReply(h header, sub *submitSM) {
	s := c.s
	id := s.nextID.Add(1)
	c.writeSubmitResp(statusOK, h.Seq, id)
	_, _, _, text, err := core.DecodeText(core.Coding(sub.DataCoding), sub.ESMClass&0x40 != 0, sub.SM)
	if err != nil {
		text = printable(sub.SM)
	}
	r := USSDReply{Phone: sub.Dst, Text: text, SessionID: sub.SessionID, Op: uint8(sub.USSDOp)}
	select {
	case s.ussdReplies <- r:
	default:
		c.log.Warn().Msg("USSD reply dropped: USSDReplies not read")
	}
}

// USSDReplies delivers the client's USSD submit_sm. It is closed by Close.
func (s *Server) USSDReplies() <-chan USSDReply { return s.ussdReplies }
