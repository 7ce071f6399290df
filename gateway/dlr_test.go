package gateway

import (
	"errors"
	"testing"

	"vneidgw/core"
)

func TestParseDLR(t *testing.T) {
	for _, tc := range []struct {
		name  string
		esm   uint8
		text  string
		tlvs  [][]byte
		want  DLR
		err   error
		errIs string
	}{
		{name: "text delivered", esm: 0x04, text: "id:0A1B2C sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:Cuc Canh sat",
			want: DLR{SMSCID: "0A1B2C", Stat: "DELIVRD", Status: core.StatusDelivered, Final: true, ErrorCode: "000", Phone: "84912345678", Submitted: "2601011200", Done: "2601011201"}},
		{name: "keys in any case", esm: 0x04, text: "ID:123 SUB:001 DLVRD:000 SUBMIT DATE:2601011200 DONE DATE:2601011201 STAT:undeliv ERR:001 TEXT:x",
			want: DLR{SMSCID: "123", Stat: "UNDELIV", Status: core.StatusUndeliverable, Final: true, ErrorCode: "001", Phone: "84912345678", Submitted: "2601011200", Done: "2601011201"}},
		{name: "extra spaces and missing fields", esm: 0x04, text: "  id:  77   stat:  EXPIRED  ",
			want: DLR{SMSCID: "77", Stat: "EXPIRED", Status: core.StatusExpired, Final: true, Phone: "84912345678"}},
		{name: "rejected", esm: 0x04, text: "id:9 stat:REJECTD err:0B",
			want: DLR{SMSCID: "9", Stat: "REJECTD", Status: core.StatusRejected, Final: true, ErrorCode: "0B", Phone: "84912345678"}},
		{name: "deleted", esm: 0x04, text: "id:9 stat:DELETED",
			want: DLR{SMSCID: "9", Stat: "DELETED", Status: core.StatusUndeliverable, Final: true, Phone: "84912345678"}},
		{name: "unknown state", esm: 0x04, text: "id:9 stat:UNKNOWN",
			want: DLR{SMSCID: "9", Stat: "UNKNOWN", Status: core.StatusUndeliverable, Final: true, Phone: "84912345678"}},
		{name: "enroute is not final", esm: 0x04, text: "id:9 stat:ENROUTE",
			want: DLR{SMSCID: "9", Stat: "ENROUTE", Phone: "84912345678"}},
		{name: "acceptd is not final", esm: 0x04, text: "id:9 stat:ACCEPTD",
			want: DLR{SMSCID: "9", Stat: "ACCEPTD", Phone: "84912345678"}},
		{name: "text field keeps its spaces and is not parsed", esm: 0x04, text: "id:1 stat:DELIVRD text:id:999 stat:UNDELIV",
			want: DLR{SMSCID: "1", Stat: "DELIVRD", Status: core.StatusDelivered, Final: true, Phone: "84912345678"}},
		{name: "tlvs only", esm: 0x04, tlvs: [][]byte{tlv(tagReceiptedMessageID, []byte("0A1B\x00")), tlv(tagMessageState, []byte{2})},
			want: DLR{SMSCID: "0A1B", Stat: "DELIVRD", Status: core.StatusDelivered, Final: true, Phone: "84912345678"}},
		{name: "tlvs win", esm: 0x04, text: "id:111 stat:UNDELIV err:001",
			tlvs: [][]byte{tlv(tagReceiptedMessageID, []byte("222")), tlv(tagMessageState, []byte{8}), tlv(tagNetworkErrorCode, []byte{3, 0, 11})},
			want: DLR{SMSCID: "222", Stat: "REJECTD", Status: core.StatusRejected, Final: true, ErrorCode: "3:11", Phone: "84912345678"}},
		{name: "receipt known by its tlv alone", esm: 0x00, tlvs: [][]byte{tlv(tagReceiptedMessageID, []byte("5")), tlv(tagMessageState, []byte{5})},
			want: DLR{SMSCID: "5", Stat: "UNDELIV", Status: core.StatusUndeliverable, Final: true, Phone: "84912345678"}},
		{name: "mobile originated", esm: 0x00, text: "hello", err: ErrNotDLR},
		{name: "no id", esm: 0x04, text: "stat:DELIVRD", errIs: core.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := decodePDU(deliverSM(1, "84912345678", "VneID", tc.esm, 0, []byte(tc.text), tc.tlvs...))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDLR(body)
			switch {
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			case tc.errIs != "":
				if core.ErrorCode(err) != tc.errIs {
					t.Fatalf("err %v, want code %s", err, tc.errIs)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := ParseDLR(nil); !errors.Is(err, ErrNotDLR) {
		t.Fatal(err)
	}
}

// FuzzParseDLR: any deliver_sm body (text and raw TLVs) either fails to
// decode, is not a receipt, or parses to a consistent DLR; never a panic.
func FuzzParseDLR(f *testing.F) {
	f.Add([]byte("id:0A1B sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:x"), []byte{}, uint8(4))
	f.Add([]byte(""), append(tlv(tagReceiptedMessageID, []byte("12\x00")), tlv(tagMessageState, []byte{2})...), uint8(4))
	f.Add([]byte("ID:  5  STAT:  undeliv"), tlv(tagNetworkErrorCode, []byte{3, 0, 1}), uint8(0x04))
	f.Add([]byte("text:submit date: done"), []byte{0x04, 0x27, 0, 9}, uint8(0))
	f.Fuzz(func(t *testing.T, text, rawTLVs []byte, esm uint8) {
		if len(text) > 254 {
			return
		}
		_ = parseReceiptText(string(text))
		esm &^= 0x40
		body, err := decodePDU(deliverSM(1, "84912345678", "VneID", esm, 0, text, rawTLVs))
		if err != nil {
			return
		}
		d, err := ParseDLR(body)
		if err != nil {
			return
		}
		if d.SMSCID == "" || d.Final != (d.Status != "") || (d.Final && !d.Status.Final()) {
			t.Fatalf("inconsistent %+v", d)
		}
	})
}
