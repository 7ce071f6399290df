package gateway

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// inboundSM is what the engine reads of a deliver_sm. parseDeliverSM
// decodes it without go-smpp's per-PDU maps (the DLR path runs once per
// part); FuzzParseDeliverSM checks it against pdu.Decode.
type inboundSM struct {
	source, dest string
	esm, coding  uint8
	sm           []byte
	tlvs         []rawTLV
}

type rawTLV struct {
	tag uint16
	val []byte
}

var errShortPDU = errors.New("deliver_sm truncated")

// tlv returns the value of the last TLV with tag (as go-smpp's map would).
func (in *inboundSM) tlv(tag uint16) ([]byte, bool) {
	for i := len(in.tlvs) - 1; i >= 0; i-- {
		if in.tlvs[i].tag == tag {
			return in.tlvs[i].val, true
		}
	}
	return nil, false
}

// message returns short_message, or message_payload when it is empty.
func (in *inboundSM) message() []byte {
	if len(in.sm) > 0 {
		return in.sm
	}
	b, _ := in.tlv(tagMessagePayload)
	return b
}

// safeParseDeliverSM is parseDeliverSM turning a panic (a decoder bug on
// hostile input) into an error: a malformed PDU never takes a bind down.
func safeParseDeliverSM(frame []byte) (in inboundSM, err error) {
	defer func() {
		if r := recover(); r != nil {
			in, err = inboundSM{}, fmt.Errorf("deliver_sm decoder panic: %v", r)
		}
	}()
	return parseDeliverSM(frame)
}

// parseDeliverSM decodes a deliver_sm frame (header included). Unlike
// go-smpp it rejects a body cut short inside the mandatory fields.
func parseDeliverSM(frame []byte) (inboundSM, error) {
	var in inboundSM
	b := frame[headerLen:]
	cstr := func() ([]byte, bool) {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, false
		}
		s := b[:i]
		b = b[i+1:]
		return s, true
	}
	octet := func() (uint8, bool) {
		if len(b) == 0 {
			return 0, false
		}
		c := b[0]
		b = b[1:]
		return c, true
	}
	var ok bool
	var s []byte
	if _, ok = cstr(); !ok { // service_type
		return in, errShortPDU
	}
	if len(b) < 2 {
		return in, errShortPDU
	}
	b = b[2:] // source ton, npi
	if s, ok = cstr(); !ok {
		return in, errShortPDU
	}
	in.source = string(s)
	if len(b) < 2 {
		return in, errShortPDU
	}
	b = b[2:] // dest ton, npi
	if s, ok = cstr(); !ok {
		return in, errShortPDU
	}
	in.dest = string(s)
	if in.esm, ok = octet(); !ok {
		return in, errShortPDU
	}
	if len(b) < 2 {
		return in, errShortPDU
	}
	b = b[2:]                // protocol_id, priority_flag
	if _, ok = cstr(); !ok { // schedule_delivery_time
		return in, errShortPDU
	}
	if _, ok = cstr(); !ok { // validity_period
		return in, errShortPDU
	}
	if len(b) < 5 {
		return in, errShortPDU
	}
	in.coding = b[2] // after registered_delivery, replace_if_present
	n := int(b[4])   // sm_length, after sm_default_msg_id
	b = b[5:]
	if len(b) < n {
		return in, errShortPDU
	}
	in.sm, b = b[:n:n], b[n:]
	for len(b) >= 4 {
		tag := binary.BigEndian.Uint16(b)
		l := int(binary.BigEndian.Uint16(b[2:]))
		if len(b)-4 < l {
			return in, errShortPDU
		}
		in.tlvs = append(in.tlvs, rawTLV{tag, b[4 : 4+l : 4+l]})
		b = b[4+l:]
	}
	return in, nil
}

// isReceipt reports whether the deliver_sm is a delivery receipt.
func (in *inboundSM) isReceipt() bool {
	if in.esm&0x04 != 0 {
		return true
	}
	_, ok := in.tlv(tagReceiptedMessageID)
	return ok
}
