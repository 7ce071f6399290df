package gateway

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
)

// decodePDU decodes a frame with go-smpp's codec, turning its panics into
// errors (the reference for the engine's own decoders).
func decodePDU(frame []byte) (body pdu.Body, err error) {
	defer func() {
		if r := recover(); r != nil {
			body, err = nil, fmt.Errorf("pdu codec panic: %v", r)
		}
	}()
	return pdu.Decode(bytes.NewReader(frame))
}

func TestParseDeliverSMTruncated(t *testing.T) {
	full := deliverSM(1, "84912345678", "VneID", 4, 0, []byte("id:1 stat:DELIVRD"), tlv(tagMessageState, []byte{2}))
	if _, err := parseDeliverSM(full); err != nil {
		t.Fatal(err)
	}
	for n := headerLen; n < len(full)-5; n++ { // any cut inside the mandatory fields or a TLV
		if _, err := parseDeliverSM(finish(append([]byte(nil), full[:n]...), 0)); err == nil {
			t.Fatalf("cut at %d accepted", n)
		}
	}
}

// FuzzParseDeliverSM: whenever the engine's decoder accepts a deliver_sm,
// go-smpp decodes it to the same fields and ParseDLR agrees with parseDLR.
func FuzzParseDeliverSM(f *testing.F) {
	f.Add(deliverSM(1, "84912345678", "VneID", 4, 0, []byte("id:1 stat:DELIVRD err:000")), byte(0))
	f.Add(deliverSM(2, "84912345678", "*368#", 0, 8, []byte{0, '1'}, tlv(tagUSSDServiceOp, []byte{1}), tlv(tagITSSessionInfo, []byte{1, 2})), byte(0))
	f.Add(deliverSM(3, "849", "x", 0, 0, nil, tlv(tagReceiptedMessageID, []byte("0A\x00")), tlv(tagMessageState, []byte{5}), tlv(tagMessageState, []byte{2})), byte(0))
	f.Fuzz(func(t *testing.T, frame []byte, flip byte) {
		if len(frame) < headerLen || len(frame) > pdu.MaxSize {
			return
		}
		frame = append([]byte(nil), frame...)
		copy(frame[4:8], []byte{0, 0, 0, 5})
		frame = finish(frame, 0)
		in, err := parseDeliverSM(frame)
		if err != nil {
			return
		}
		if in.esm&0x40 != 0 {
			return // go-smpp splits a UDH off; the engine reads receipts and USSD only
		}
		body, err := decodePDU(frame)
		if err != nil {
			t.Fatalf("engine accepts what go-smpp rejects: %v", err)
		}
		fl := body.Fields()
		if fl[pdufield.SourceAddr].String() != in.source || fl[pdufield.DestinationAddr].String() != in.dest ||
			fieldByte(fl, pdufield.DataCoding) != in.coding || !bytes.Equal(fl[pdufield.ShortMessage].Bytes(), in.sm) {
			t.Fatalf("fields differ: %v vs %+v", fl, in)
		}
		for _, tl := range in.tlvs {
			v, ok := tlvBytes(body.TLVFields(), tl.tag)
			last, _ := in.tlv(tl.tag)
			if !ok || !bytes.Equal(v, last) {
				t.Fatalf("tlv %#x differs", tl.tag)
			}
		}
		d1, err1 := ParseDLR(body)
		d2, err2 := parseDLR(&in)
		if d1 != d2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("ParseDLR %+v %v, parseDLR %+v %v", d1, err1, d2, err2)
		}
	})
}
