package core

import (
	"testing"
)

// FuzzEncodeText: EncodeText never panics; its parts reassemble to the
// text (invalid UTF-8 read as U+FFFD), each fits one SMS on the air
// (≤ 140 octets), and CountParts agrees.
func FuzzEncodeText(f *testing.F) {
	for _, s := range []string{
		"Ma OTP cua ban la 123456",
		"Mã OTP của bạn là 123456",
		"€€€€{}[]",
		"😀 𝒜",
		"\xff\x00",
		"Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan NGUYEN VAN DUC da duoc phe duyet. De nghi truy cap ung dung VNeID hoac dia chi https://vneid.gov.vn de kich hoat tai khoan.",
	} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, s string, ref uint8) {
		coding, n := CountParts(s)
		enc, err := EncodeText(s, ref)
		switch {
		case s == "":
			if ErrorCode(err) != EINVALID || n != 0 {
				t.Fatalf("empty text: err %v, CountParts %d", err, n)
			}
			return
		case n > MaxParts:
			if ErrorCode(err) != ETOOLARGE {
				t.Fatalf("%d parts: err %v, want ETOOLARGE", n, err)
			}
			return
		case err != nil:
			t.Fatalf("EncodeText(%q): %v", s, err)
		}
		if enc.Coding != coding || len(enc.Parts) != n {
			t.Fatalf("EncodeText: %v in %d parts, CountParts: %v in %d", enc.Coding, len(enc.Parts), coding, n)
		}
		if enc.UDH != (n > 1) {
			t.Fatalf("UDH %v with %d parts", enc.UDH, n)
		}
		for i, p := range enc.Parts {
			if o := airOctets(enc, p); o > 140 {
				t.Fatalf("part %d is %d octets on the air", i+1, o)
			}
			if enc.Coding == CodingUCS2 && len(p) > 140 {
				t.Fatalf("UCS-2 part %d is %d octets", i+1, len(p))
			}
		}
		if got, want := reassemble(t, enc), string([]rune(s)); got != want {
			t.Fatalf("round trip %q → %q", want, got)
		}
	})
}

// FuzzDecodeText: DecodeText never panics on any short_message and its
// header fields are consistent when it succeeds.
func FuzzDecodeText(f *testing.F) {
	f.Add(uint8(0), true, []byte{5, 0, 3, 1, 2, 1, 'a'})
	f.Add(uint8(8), true, []byte{6, 8, 4, 0, 1, 2, 2, 0xD8, 0x3D, 0xDE, 0x00})
	f.Add(uint8(0), false, []byte{0x1B, 0x65, 0x1B})
	f.Add(uint8(3), false, []byte{0xE9})
	f.Add(uint8(8), false, []byte{0x00})
	f.Fuzz(func(t *testing.T, coding uint8, udh bool, sm []byte) {
		_, total, seq, _, err := DecodeText(Coding(coding), udh, sm)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("code %q", ErrorCode(err))
			}
			return
		}
		if total < 1 || seq < 1 || seq > total {
			t.Fatalf("part %d of %d", seq, total)
		}
	})
}
