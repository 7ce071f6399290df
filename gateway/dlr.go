package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"vneidgw/core"
)

// ErrNotDLR is returned by ParseDLR for a deliver_sm that is not a
// delivery receipt (an MO message or a USSD request).
var ErrNotDLR = errors.New("gateway: deliver_sm is not a delivery receipt")

// DLR is a parsed delivery receipt.
type DLR struct {
	SMSCID    string      // the id the SMSC gave in submit_sm_resp (as sent: hex or decimal)
	Stat      string      // stat: text or message_state name, upper case
	Status    core.Status // delivered, undeliverable, expired or rejected; "" when not final
	Final     bool        // false for ENROUTE / ACCEPTD and unknown states: ack and ignore
	ErrorCode string      // err: field, or "<network type>:<code>" from network_error_code
	Phone     string      // source_addr of the receipt: the handset
	Submitted string      // submit date: as sent (YYMMDDhhmm)
	Done      string      // done date: as sent
}

// receiptText holds the fields of a receipt's text form.
type receiptText struct {
	ID, Sub, Dlvrd, SubmitDate, DoneDate, Stat, Err, Text string
}

// parseReceiptText parses `id:… sub:… dlvrd:… submit date:… done date:…
// stat:… err:… text:…`: keys case-insensitive, any field may be missing,
// extra spaces tolerated (also between a key's colon and its value). The
// text: field takes the rest of the receipt. It does not allocate beyond
// an upper-casing of stat.
func parseReceiptText(s string) receiptText {
	var r receiptText
	z := receiptTokens{s: s}
	for {
		t, start, ok := z.next()
		if !ok {
			break
		}
		var key, val string
		if strings.EqualFold(t, "submit") || strings.EqualFold(t, "done") {
			n, nstart, ok := z.peek()
			if !ok || len(n) < 4 || !strings.EqualFold(n[:4], "date") {
				continue
			}
			z.next()
			key = "submit date"
			if strings.EqualFold(t, "done") {
				key = "done date"
			}
			t, start = n, nstart
			c := strings.IndexByte(t, ':')
			if c < 0 {
				continue
			}
			val = t[c+1:]
		} else {
			c := strings.IndexByte(t, ':')
			if c < 0 {
				continue
			}
			key, val = receiptKey(t[:c]), t[c+1:]
			if key == "text" {
				r.Text = strings.TrimSpace(s[start+c+1:])
				break
			}
		}
		if val == "" {
			if n, _, ok := z.peek(); ok && strings.IndexByte(n, ':') < 0 {
				z.next()
				val = n
			}
		}
		switch key {
		case "id":
			r.ID = val
		case "sub":
			r.Sub = val
		case "dlvrd":
			r.Dlvrd = val
		case "submit date":
			r.SubmitDate = val
		case "done date":
			r.DoneDate = val
		case "stat":
			r.Stat = strings.ToUpper(val)
		case "err":
			r.Err = val
		}
	}
	return r
}

// receiptKey canonicalises a receipt key ("" when unknown).
func receiptKey(k string) string {
	for _, c := range [...]struct{ in, out string }{
		{"id", "id"}, {"sub", "sub"}, {"dlvrd", "dlvrd"}, {"stat", "stat"}, {"err", "err"}, {"text", "text"},
		{"submit_date", "submit date"}, {"submitdate", "submit date"}, {"done_date", "done date"}, {"donedate", "done date"},
	} {
		if strings.EqualFold(k, c.in) {
			return c.out
		}
	}
	return ""
}

// receiptTokens splits a receipt on ASCII white space.
type receiptTokens struct {
	s   string
	pos int
}

func isReceiptSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 }

// next returns the next token and its offset in s.
func (z *receiptTokens) next() (string, int, bool) {
	for z.pos < len(z.s) && isReceiptSpace(z.s[z.pos]) {
		z.pos++
	}
	if z.pos >= len(z.s) {
		return "", 0, false
	}
	start := z.pos
	for z.pos < len(z.s) && !isReceiptSpace(z.s[z.pos]) {
		z.pos++
	}
	return z.s[start:z.pos], start, true
}

func (z *receiptTokens) peek() (string, int, bool) {
	save := z.pos
	t, st, ok := z.next()
	z.pos = save
	return t, st, ok
}

// statStatus maps a stat: value to a core status; final is false for
// intermediate or unrecognised states.
func statStatus(stat string) (core.Status, bool) {
	switch stat {
	case "DELIVRD", "DELIVERED":
		return core.StatusDelivered, true
	case "UNDELIV", "UNDELIVERABLE", "DELETED", "UNKNOWN":
		return core.StatusUndeliverable, true
	case "REJECTD", "REJECTED":
		return core.StatusRejected, true
	case "EXPIRED":
		return core.StatusExpired, true
	}
	return "", false
}

// messageStateName maps the message_state TLV (SMPP 3.4 §5.2.28).
func messageStateName(v uint8) string {
	switch v {
	case 1:
		return "ENROUTE"
	case 2:
		return "DELIVRD"
	case 3:
		return "EXPIRED"
	case 4:
		return "DELETED"
	case 5:
		return "UNDELIV"
	case 6:
		return "ACCEPTD"
	case 7:
		return "UNKNOWN"
	case 8:
		return "REJECTD"
	}
	return "STATE" + strconv.Itoa(int(v))
}

func fieldString(f pdufield.Map, n pdufield.Name) string {
	if v, ok := f[n]; ok && v != nil {
		return v.String()
	}
	return ""
}

func fieldByte(f pdufield.Map, n pdufield.Name) uint8 {
	if v, ok := f[n]; ok && v != nil {
		if b := v.Bytes(); len(b) > 0 {
			return b[0]
		}
	}
	return 0
}

func tlvBytes(t pdutlv.Map, tag uint16) ([]byte, bool) {
	if v, ok := t[pdutlv.Tag(tag)]; ok && v != nil {
		return v.Bytes(), true
	}
	return nil, false
}

// isReceipt reports whether a deliver_sm is a delivery receipt: esm_class
// message type bit 0x04, or a receipted_message_id TLV.
func isReceipt(f pdufield.Map, t pdutlv.Map) bool {
	if fieldByte(f, pdufield.ESMClass)&0x04 != 0 {
		return true
	}
	_, ok := tlvBytes(t, tagReceiptedMessageID)
	return ok
}

// ParseDLR parses a deliver_sm carrying a delivery receipt, from its text
// (`id:… stat:… err:…`) and its TLVs receipted_message_id (0x001E),
// message_state (0x0427) and network_error_code (0x0423); TLVs win over the
// text. It returns ErrNotDLR for any other deliver_sm and an EINVALID error
// when the receipt names no message id.
func ParseDLR(p pdu.Body) (DLR, error) {
	if p == nil || p.Header() == nil || p.Header().ID != pdu.DeliverSMID {
		return DLR{}, ErrNotDLR
	}
	f, t := p.Fields(), p.TLVFields()
	if !isReceipt(f, t) {
		return DLR{}, ErrNotDLR
	}
	var text string
	if v, ok := f[pdufield.ShortMessage]; ok && v != nil {
		text = string(v.Bytes())
	}
	if text == "" {
		if b, ok := tlvBytes(t, tagMessagePayload); ok {
			text = string(b)
		}
	}
	return parseDLRParts(fieldString(f, pdufield.SourceAddr), text, func(tag uint16) ([]byte, bool) { return tlvBytes(t, tag) })
}

// parseDLR is ParseDLR over the engine's own deliver_sm decoding.
func parseDLR(in *inboundSM) (DLR, error) {
	if !in.isReceipt() {
		return DLR{}, ErrNotDLR
	}
	return parseDLRParts(in.source, string(in.message()), in.tlv)
}

func parseDLRParts(phone, text string, tlv func(tag uint16) ([]byte, bool)) (DLR, error) {
	r := parseReceiptText(text)
	d := DLR{
		SMSCID:    r.ID,
		Stat:      r.Stat,
		ErrorCode: r.Err,
		Phone:     phone,
		Submitted: r.SubmitDate,
		Done:      r.DoneDate,
	}
	if b, ok := tlv(tagReceiptedMessageID); ok {
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			b = b[:i]
		}
		if len(b) > 0 {
			d.SMSCID = string(b)
		}
	}
	if b, ok := tlv(tagMessageState); ok && len(b) == 1 {
		d.Stat = messageStateName(b[0])
	}
	if b, ok := tlv(tagNetworkErrorCode); ok && len(b) == 3 {
		d.ErrorCode = fmt.Sprintf("%d:%d", b[0], binary.BigEndian.Uint16(b[1:3]))
	}
	d.SMSCID = strings.TrimSpace(d.SMSCID)
	d.Status, d.Final = statStatus(d.Stat)
	if d.SMSCID == "" {
		return d, core.Errorf(core.EINVALID, "delivery receipt without message id")
	}
	return d, nil
}
