package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

func TestRelativeValidity(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{-time.Second, ""},
		{5 * time.Minute, "000000000500000R"},
		{5*time.Minute - 10*time.Millisecond, "000000000500000R"},
		{90 * time.Second, "000000000130000R"},
		{26 * time.Hour, "000001020000000R"},
		{45 * 24 * time.Hour, "000115000000000R"},
		{200 * 365 * 24 * time.Hour, "991129235959000R"},
	} {
		if got := relativeValidity(tc.d); got != tc.want {
			t.Errorf("relativeValidity(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// The hand-written encoder agrees with go-smpp's decoder.
func TestAppendSubmitSMDecodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    submitSM
	}{
		{"gsm7", submitSM{SourceTON: 5, Source: "VneID", DestTON: 1, DestNPI: 1, Dest: "84912345678", RegDelivery: 1,
			PriorityFlag: 1, Validity: "000000000500000R", Message: []byte("Ma OTP 123456")}},
		{"udh", submitSM{SourceTON: 5, Source: "VneID", Dest: "84912345678", ESMClass: 0x40,
			Message: append([]byte{5, 0, 3, 7, 2, 1}, bytes.Repeat([]byte("a"), 153)...)}},
		{"payload", submitSM{Source: "*368#", Dest: "84912345678", DataCoding: 8, Message: bytes.Repeat([]byte{0, 'a'}, 182),
			USSDOp: 3, SessionInfo: []byte{1, 2}, UserMessageRef: []byte{0, 7}, ServiceType: "USSD"}},
		{"nul in address", submitSM{Source: "Vne\x00ID", Dest: "849", Message: []byte("x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := appendSubmitSM(nil, 42, &tc.p)
			if int(binary.BigEndian.Uint32(frame)) != len(frame) {
				t.Fatal("command_length")
			}
			body, err := pdu.Decode(bytes.NewReader(frame))
			if err != nil {
				t.Fatal(err)
			}
			h := body.Header()
			f := body.Fields()
			if h.ID != pdu.SubmitSMID || h.Seq != 42 {
				t.Fatalf("header %+v", h)
			}
			wantSrc := string(bytes.ReplaceAll([]byte(tc.p.Source), []byte{0}, nil))
			if f[pdufield.SourceAddr].String() != wantSrc || f[pdufield.DestinationAddr].String() != tc.p.Dest ||
				f[pdufield.ValidityPeriod].String() != tc.p.Validity || f[pdufield.ServiceType].String() != tc.p.ServiceType {
				t.Fatalf("fields %v", f)
			}
			for name, want := range map[pdufield.Name]uint8{pdufield.SourceAddrTON: tc.p.SourceTON, pdufield.DestAddrNPI: tc.p.DestNPI,
				pdufield.ESMClass: tc.p.ESMClass, pdufield.PriorityFlag: tc.p.PriorityFlag, pdufield.RegisteredDelivery: tc.p.RegDelivery,
				pdufield.DataCoding: tc.p.DataCoding} {
				if got := f[name].Bytes()[0]; got != want {
					t.Errorf("%s = %d, want %d", name, got, want)
				}
			}
			sm := f[pdufield.ShortMessage].Bytes()
			if len(tc.p.Message) > 254 {
				sm = body.TLVFields()[pdutlv.TagMessagePayload].Bytes()
			}
			if !bytes.Equal(sm, tc.p.Message) {
				t.Fatalf("message differs")
			}
			if tc.p.USSDOp != 0 {
				tl := body.TLVFields()
				if tl[pdutlv.TagUssdServiceOp].Bytes()[0] != tc.p.USSDOp || !bytes.Equal(tl[pdutlv.TagItsSessionInfo].Bytes(), tc.p.SessionInfo) ||
					!bytes.Equal(tl[pdutlv.TagUserMessageReference].Bytes(), tc.p.UserMessageRef) {
					t.Fatalf("tlvs %v", tl)
				}
			}
		})
	}
}

func TestAppendBindAndEmpty(t *testing.T) {
	body, err := pdu.Decode(bytes.NewReader(appendBind(nil, cmdBindTransceiver, 7, "vneid", "pw", "VMA")))
	if err != nil {
		t.Fatal(err)
	}
	f := body.Fields()
	if body.Header().ID != pdu.BindTransceiverID || f[pdufield.SystemID].String() != "vneid" || f[pdufield.Password].String() != "pw" ||
		f[pdufield.SystemType].String() != "VMA" || f[pdufield.InterfaceVersion].Bytes()[0] != 0x34 {
		t.Fatalf("bind %v", f)
	}
	for _, id := range []uint32{cmdEnquireLink, cmdEnquireLinkResp, cmdUnbind, cmdUnbindResp, cmdGenericNack} {
		body, err := pdu.Decode(bytes.NewReader(appendEmpty(nil, id, 3, 9)))
		if err != nil || uint32(body.Header().ID) != id || body.Header().Seq != 9 || body.Header().Status != 3 {
			t.Fatalf("%#x: %v %+v", id, err, body)
		}
	}
	body, err = pdu.Decode(bytes.NewReader(appendDeliverSMResp(nil, 8, 11)))
	if err != nil || body.Header().ID != pdu.DeliverSMRespID || body.Header().Status != 8 {
		t.Fatalf("deliver_sm_resp %v %+v", err, body)
	}
}

func TestParseSubmitSMResp(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		want string
	}{
		{[]byte("0A1B\x00"), "0A1B"},
		{[]byte("123"), "123"},
		{nil, ""},
		{[]byte("\x00junk"), ""},
	} {
		f := finish(append(appendHeader(nil, cmdSubmitSMResp, 0, 1), tc.body...), 0)
		if got := parseSubmitSMResp(f); got != tc.want {
			t.Errorf("%q: got %q", tc.body, got)
		}
	}
}

func TestReadFrame(t *testing.T) {
	good := appendEmpty(nil, cmdEnquireLink, 0, 1)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"ok", good, nil},
		{"too small", []byte{0, 0, 0, 8, 0, 0, 0, 0}, errFrameLength},
		{"too large", []byte{0, 1, 0, 1}, errFrameLength},
		{"truncated", good[:10], io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && !bytes.Equal(f, good) {
				t.Fatalf("frame % x", f)
			}
		})
	}
}

// splitReader returns its data in two reads split at cut.
type splitReader struct {
	data []byte
	cut  int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if r.cut > 0 && r.cut < n {
		n = r.cut
	}
	n = copy(p, r.data[:n])
	r.data = r.data[n:]
	r.cut = 0
	return n, nil
}

// FuzzReadFrame: whatever arrives, in whatever reads, the reader returns
// whole frames with a valid length or an error, and never panics.
func FuzzReadFrame(f *testing.F) {
	f.Add(appendEmpty(nil, cmdEnquireLink, 0, 1), uint16(3))
	f.Add(append(appendSubmitSM(nil, 5, &submitSM{Source: "VneID", Dest: "849", Message: []byte("hi")}), appendEmpty(nil, cmdUnbind, 0, 6)...), uint16(20))
	f.Add([]byte{0, 0, 0, 15, 1, 2, 3}, uint16(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		r := bufio.NewReaderSize(&splitReader{data: data, cut: int(cut)}, 16)
		var buf []byte
		consumed := 0
		for {
			fr, err := readFrame(r, buf)
			if err != nil {
				return
			}
			n := int(binary.BigEndian.Uint32(fr))
			if n != len(fr) || n < headerLen || n > maxFrame {
				t.Fatalf("frame length %d, len %d", n, len(fr))
			}
			if !bytes.Equal(fr, data[consumed:consumed+n]) {
				t.Fatal("frame differs from the input")
			}
			consumed += n
			buf = fr
			_, _ = decodePDU(fr) // the codec must not take the process down either
		}
	})
}

// FuzzSubmitSMEncode: every submit_sm the encoder writes decodes with
// go-smpp to the same fields.
func FuzzSubmitSMEncode(f *testing.F) {
	f.Add("VneID", "84912345678", []byte("hello"), uint8(0x40), "000000000500000R")
	f.Add("", "", []byte{}, uint8(0), "")
	f.Fuzz(func(t *testing.T, src, dst string, msg []byte, esm uint8, validity string) {
		if len(msg) > 254 || len(src) > 64 || len(dst) > 64 || len(validity) > 32 {
			return
		}
		esm &^= 0x40 // go-smpp parses a UDH out of short_message when UDHI is set
		p := submitSM{Source: src, Dest: dst, Message: msg, ESMClass: esm, Validity: validity}
		frame := appendSubmitSM(nil, 1, &p)
		if len(frame) > pdu.MaxSize {
			return
		}
		body, err := pdu.Decode(bytes.NewReader(frame))
		if err != nil {
			t.Fatal(err)
		}
		clean := func(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte{0}, nil)) }
		fl := body.Fields()
		if fl[pdufield.SourceAddr].String() != clean(src) || fl[pdufield.DestinationAddr].String() != clean(dst) ||
			fl[pdufield.ValidityPeriod].String() != clean(validity) || !bytes.Equal(fl[pdufield.ShortMessage].Bytes(), msg) {
			t.Fatalf("round trip differs: %v", fl)
		}
	})
}
