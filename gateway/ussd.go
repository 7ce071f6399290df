package gateway

import (
	"context"
	"encoding/binary"
	"strings"
	"time"

	"vneidgw/core"
)

// ussd_service_op values used in replies. SMPP 3.4 itself numbers USSR
// request 2 and PSSR response 17; operators differ, and this project's
// operators (and the simulator) use 2 = end and 3 = continue.
const (
	USSDOpEnd      uint8 = 2 // end the session (PSSR response)
	USSDOpContinue uint8 = 3 // ask for more input (USSR request)
)

// USSDHandler answers USSD requests arriving over SMPP. HandleUSSD runs off
// the bind's reader with a deadline (Config.USSDTimeout); its reply goes
// back as a submit_sm on the same bind. An error ends the session with a
// generic message.
type USSDHandler interface {
	HandleUSSD(ctx context.Context, in USSDInbound) (USSDReply, error)
}

// USSDHandlerFunc adapts a function to USSDHandler.
type USSDHandlerFunc func(ctx context.Context, in USSDInbound) (USSDReply, error)

// HandleUSSD implements USSDHandler.
func (f USSDHandlerFunc) HandleUSSD(ctx context.Context, in USSDInbound) (USSDReply, error) {
	return f(ctx, in)
}

// USSDInbound is one USSD request: a deliver_sm with ussd_service_op.
type USSDInbound struct {
	Operator             string
	Phone                string // source_addr: the caller (network-provided)
	ServiceCode          string // destination_addr
	Text                 string
	Op                   uint8  // ussd_service_op as received
	SessionID            uint32 // its_session_info (0x1383)
	UserMessageReference uint16 // 0x0204, if present

	sessionRaw []byte
	hasUMR     bool
}

// USSDReply is the handler's answer.
type USSDReply struct {
	Text     string
	Continue bool // true: wait for the next input (op 3); false: end (op 2)
}

// ussdErrorText ends a session whose handler failed.
const ussdErrorText = "Dich vu tam thoi gian doan. Vui long thu lai sau."

// handleUSSD runs the handler for in, off the inbound worker. The
// deliver_sm_resp has already been sent.
func (b *bind) handleUSSD(in USSDInbound) {
	h := b.g.ussdHandler()
	if h == nil {
		b.m.ussd.WithLabelValues(b.op.name, "no_handler").Inc()
		return
	}
	select {
	case b.ussdSem <- struct{}{}:
	default:
		b.m.ussd.WithLabelValues(b.op.name, "busy").Inc()
		b.log.Warn().Msg("ussd: too many sessions in progress, request dropped")
		return
	}
	b.ussdWG.Add(1)
	go func() {
		defer b.ussdWG.Done()
		defer func() { <-b.ussdSem }()
		ctx, cancel := context.WithTimeout(b.runCtx, b.g.cfg.USSDTimeout)
		defer cancel()
		reply, err := h.HandleUSSD(ctx, in)
		result := "ok"
		if err != nil {
			result = "handler_error"
			b.log.Warn().Err(err).Msg("ussd handler failed")
			reply = USSDReply{Text: ussdErrorText}
		}
		if err := b.sendUSSD(ctx, in, reply); err != nil {
			result = "reply_failed"
			b.log.Warn().Err(err).Msg("ussd reply not sent")
		}
		b.m.ussd.WithLabelValues(b.op.name, result).Inc()
	}()
}

// sendUSSD sends the reply as submit_sm on this bind (or, for a receiver
// bind, on a bound transmitter of the same operator) and waits for its
// response.
func (b *bind) sendUSSD(ctx context.Context, in USSDInbound, r USSDReply) error {
	s := b.current()
	if !b.cfg.canTransmit() {
		s = nil
		for _, o := range b.op.binds {
			if o.cfg.canTransmit() {
				if c := o.current(); c != nil {
					s = c
					break
				}
			}
		}
	}
	if s == nil {
		return core.Errorf(core.EUNAVAILABLE, "no bound session for the ussd reply")
	}
	coding, text, err := encodeUSSDText(r.Text)
	if err != nil {
		return err
	}
	p := submitSM{
		ServiceType: "USSD",
		Source:      in.ServiceCode,
		DestTON:     1, DestNPI: 1, Dest: in.Phone,
		DataCoding: coding, Message: text,
		USSDOp:      USSDOpEnd,
		SessionInfo: in.sessionRaw,
	}
	if r.Continue {
		p.USSDOp = USSDOpContinue
	}
	if p.SessionInfo == nil && in.SessionID != 0 {
		p.SessionInfo = binary.BigEndian.AppendUint16(nil, uint16(in.SessionID))
	}
	if in.hasUMR {
		p.UserMessageRef = binary.BigEndian.AppendUint16(nil, in.UserMessageReference)
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	fb := b.getBuf()
	*fb = appendSubmitSM((*fb)[:0], 0, &p)
	ch := make(chan respResult, 1)
	timeout := b.cfg.ResponseTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl)+time.Second)
	}
	seq, err := s.register(&pendingReq{respID: cmdSubmitSMResp, kind: reqUSSD, done: ch}, timeout, false)
	if err != nil {
		s.release()
		b.putBuf(fb)
		return err
	}
	binary.BigEndian.PutUint32((*fb)[12:16], seq)
	if err := s.send(fb); err != nil {
		s.unregister(seq)
		return err
	}
	select {
	case res := <-ch:
		if res.err != nil {
			return res.err
		}
		if res.status != StatusOK {
			return res.status
		}
		return nil
	case <-s.done:
		return errSessionClosed
	}
}

// encodeUSSDText encodes a USSD screen: one message, no UDH (a USSD
// string is not concatenated; up to 182 GSM-7 characters).
func encodeUSSDText(text string) (uint8, []byte, error) {
	enc, err := core.EncodeText(text, 0)
	if err != nil {
		return 0, nil, err
	}
	if !enc.UDH {
		var out []byte
		for _, p := range enc.Parts {
			out = append(out, p...)
		}
		return uint8(enc.Coding), out, nil
	}
	var out []byte
	for _, p := range enc.Parts {
		if len(p) >= 6 {
			out = append(out, p[6:]...)
		}
	}
	return uint8(enc.Coding), out, nil
}

// decodeUSSDText decodes USSD input with core.DecodeText (GSM-7
// unpacked, UCS-2, IA5, Latin-1); undecodable bytes are taken as they are.
func decodeUSSDText(coding uint8, b []byte) string {
	if coding == 0x0F { // USSD: GSM-7 default alphabet, language unspecified
		coding = 0
	}
	_, _, _, text, err := core.DecodeText(core.Coding(coding), false, b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "")
	}
	return text
}
