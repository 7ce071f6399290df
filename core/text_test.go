package core

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStripDiacritics(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Nguyễn Văn Đức", "Nguyen Van Duc"},
		{"đ Đ Ð", "d D D"},
		{"Trần Thị Hương Giang", "Tran Thi Huong Giang"},
		{"Lê Hoàng Phượng", "Le Hoang Phuong"},
		{"àáảãạ ăằắẳẵặ âầấẩẫậ", "aaaaa aaaaaa aaaaaa"},
		{"ÈÉẺẼẸ ÊỀẾỂỄỆ", "EEEEE EEEEEE"},
		{"ìíỉĩị òóỏõọ ôồốổỗộ ơờớởỡợ", "iiiii ooooo oooooo oooooo"},
		{"ùúủũụ ưừứửữự ỳýỷỹỵ", "uuuuu uuuuuu yyyyy"},
		{"Nguye\u0302\u0303n", "Nguyen"}, // decomposed input
		{"plain ASCII, 123!", "plain ASCII, 123!"},
		{"Zoë Ångström façade", "Zoe Angstrom facade"},
		{"Ø ß æ €", "Ø ß æ €"}, // no decomposition: unchanged
		{"한국어 日本", "한국어 日本"},   // composition restored
		{"", ""},
	}
	for _, tt := range tests {
		if got := StripDiacritics(tt.in); got != tt.want {
			t.Errorf("StripDiacritics(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The GSM 03.38 table is a bijection between the 128 default-alphabet
// codes (escape aside) plus the 9 extension characters and their runes.
func TestGSM7TableBijection(t *testing.T) {
	seen := map[rune]byte{}
	for c := 0; c < 0x80; c++ {
		if c == gsm7Escape {
			continue
		}
		r := gsm7Rune(byte(c))
		if r == utf8.RuneError {
			t.Errorf("code 0x%02x has no character", c)
			continue
		}
		if prev, dup := seen[r]; dup {
			t.Errorf("%q is both 0x%02x and 0x%02x", r, prev, c)
		}
		seen[r] = byte(c)
		code, ext, ok := gsm7Code(r)
		if !ok || ext || code != byte(c) {
			t.Errorf("gsm7Code(%q) = 0x%02x, %v, %v; want 0x%02x", r, code, ext, ok, c)
		}
	}
	if len(seen) != 127 {
		t.Errorf("%d basic characters, want 127", len(seen))
	}
	ext := 0
	for c := 0; c < 0x80; c++ {
		r, ok := gsm7ExtRune(byte(c))
		if !ok || r == '\f' {
			continue
		}
		ext++
		code, isExt, ok := gsm7Code(r)
		if !ok || !isExt || code != byte(c) {
			t.Errorf("gsm7Code(%q) = 0x%02x, %v, %v; want extension 0x%02x", r, code, isExt, ok, c)
		}
	}
	if ext != 9 {
		t.Errorf("%d extension characters, want 9 (^{}\\[~]|€)", ext)
	}
	// Every ASCII rune is encodable exactly when the tables decode to it.
	for r := rune(0); r < 0x80; r++ {
		_, isExt, ok := gsm7Code(r)
		_, inBasic := seen[r]
		inExt := strings.ContainsRune("^{}\\[~]|", r)
		if ok != (inBasic || inExt) || isExt != inExt {
			t.Errorf("gsm7Code(%q): ok %v ext %v; basic %v, extension %v", r, ok, isExt, inBasic, inExt)
		}
	}
	if _, _, ok := gsm7Code(-1); ok {
		t.Error("gsm7Code(-1) ok")
	}
}

func TestEncodeGSM7(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		ok   bool
	}{
		{"Hello", []byte("Hello"), true},
		{"@£$¥", []byte{0x00, 0x01, 0x02, 0x03}, true},
		{"a_b", []byte{'a', 0x11, 'b'}, true},
		{"€5", []byte{0x1B, 0x65, '5'}, true},
		{"^{}\\[~]|", []byte{0x1B, 0x14, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x2F, 0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E, 0x1B, 0x40}, true},
		{"ÄÖÑÜ§¿äöñüà", []byte{0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F}, true},
		{"line\r\nbreak", []byte("line\r\nbreak"), true},
		{"", []byte{}, true},
		{"Nguyễn", nil, false},
		{"ç", nil, false}, // only capital Ç is in the table
		{"`", nil, false},
		{"tab\t", nil, false},
		{"😀", nil, false},
		{"\xff", nil, false}, // invalid UTF-8 is never GSM-7
	}
	for _, tt := range tests {
		got, ok := EncodeGSM7(tt.in)
		if ok != tt.ok || !bytes.Equal(got, tt.want) {
			t.Errorf("EncodeGSM7(%q) = % x, %v; want % x, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && DecodeGSM7(got) != tt.in {
			t.Errorf("DecodeGSM7(EncodeGSM7(%q)) = %q", tt.in, DecodeGSM7(got))
		}
	}
}

func TestDecodeGSM7Oddities(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0x1B, 0x0A}, "\f"},
		{[]byte{0x1B, 'A'}, "A"},        // undefined extension: the default character
		{[]byte{'a', 0x1B}, "a "},       // trailing escape
		{[]byte{0x1B, 0x1B, 'b'}, " b"}, // escape-escape: space
		{[]byte{0x80, 'x', 0xFF}, "\uFFFDx\uFFFD"},
		{[]byte{0x1B, 0x90}, " \uFFFD"},
	}
	for _, tt := range tests {
		if got := DecodeGSM7(tt.in); got != tt.want {
			t.Errorf("DecodeGSM7(% x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrepareText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Mã OTP của bạn là 123456", "Ma OTP cua ban la 123456"},
		{"Giá 50€ [VNeID]", "Gia 50€ [VNeID]"},
		{"Xin chào 😀", "Xin chào 😀"}, // emoji: stays UCS-2 with its diacritics
		{"Привет", "Привет"},
		{"hello", "hello"},
	}
	for _, tt := range tests {
		if got := PrepareText(tt.in); got != tt.want {
			t.Errorf("PrepareText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// partLens returns each part's payload length in units (septets or UTF-16
// units) after the UDH.
func partLens(t *testing.T, enc Encoded) []int {
	t.Helper()
	var lens []int
	for _, p := range enc.Parts {
		payload := p
		if enc.UDH {
			payload = p[concatUDHLen:]
		}
		n := len(payload)
		if enc.Coding == CodingUCS2 {
			n /= 2
		}
		lens = append(lens, n)
	}
	return lens
}

func TestEncodeTextSegmentation(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	u := func(n int) string { return strings.Repeat("ư", n) } // not GSM-7: UCS-2
	const emoji = "😀"                                         // a surrogate pair in UTF-16
	tests := []struct {
		name   string
		text   string
		coding Coding
		lens   []int
	}{
		{"one char", "a", CodingGSM7, []int{1}},
		{"160 septets", a(160), CodingGSM7, []int{160}},
		{"161 septets", a(161), CodingGSM7, []int{153, 8}},
		{"158 + euro = 160", a(158) + "€", CodingGSM7, []int{160}},
		{"159 + euro = 161", a(159) + "€", CodingGSM7, []int{153, 8}},
		{"80 euros = 160", strings.Repeat("€", 80), CodingGSM7, []int{160}},
		{"81 euros", strings.Repeat("€", 81), CodingGSM7, []int{152, 10}},
		{"escape not split", a(152) + "{" + a(10), CodingGSM7, []int{152, 12}},
		{"escape fits exactly", a(151) + "{" + a(10), CodingGSM7, []int{153, 10}},
		{"306 septets", a(306), CodingGSM7, []int{153, 153}},
		{"307 septets", a(307), CodingGSM7, []int{153, 153, 1}},
		{"10 parts", a(1530), CodingGSM7, []int{153, 153, 153, 153, 153, 153, 153, 153, 153, 153}},
		{"70 units", u(70), CodingUCS2, []int{70}},
		{"71 units", u(71), CodingUCS2, []int{67, 4}},
		{"69 + emoji = 71", u(69) + emoji, CodingUCS2, []int{67, 4}},
		{"68 + emoji = 70", u(68) + emoji, CodingUCS2, []int{70}},
		{"surrogate not split", u(66) + emoji + u(10), CodingUCS2, []int{66, 12}},
		{"surrogate fits exactly", u(65) + emoji + u(10), CodingUCS2, []int{67, 10}},
		{"emoji only", strings.Repeat(emoji, 36), CodingUCS2, []int{66, 6}},
		{"one non-GSM rune makes all UCS-2", a(100) + "ư", CodingUCS2, []int{67, 34}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := EncodeText(tt.text, 0x42)
			if err != nil {
				t.Fatal(err)
			}
			if enc.Coding != tt.coding {
				t.Errorf("coding = %v, want %v", enc.Coding, tt.coding)
			}
			if got := partLens(t, enc); !equalInts(got, tt.lens) {
				t.Errorf("part lengths = %v, want %v", got, tt.lens)
			}
			if enc.UDH != (len(tt.lens) > 1) {
				t.Errorf("UDH = %v with %d parts", enc.UDH, len(tt.lens))
			}
			coding, n := CountParts(tt.text)
			if coding != tt.coding || n != len(tt.lens) {
				t.Errorf("CountParts = %v, %d; want %v, %d", coding, n, tt.coding, len(tt.lens))
			}
			for i, p := range enc.Parts {
				if enc.UDH {
					want := []byte{0x05, 0x00, 0x03, 0x42, byte(len(enc.Parts)), byte(i + 1)}
					if !bytes.Equal(p[:concatUDHLen], want) {
						t.Errorf("part %d UDH = % x, want % x", i+1, p[:concatUDHLen], want)
					}
				}
				if airOctets(enc, p) > 140 {
					t.Errorf("part %d: %d octets on the air", i+1, airOctets(enc, p))
				}
				if enc.Coding == CodingGSM7 && p[len(p)-1] == gsm7Escape {
					t.Errorf("part %d ends with an escape", i+1)
				}
				if enc.Coding == CodingUCS2 && p[len(p)-2]&0xFC == 0xD8 {
					t.Errorf("part %d ends with a high surrogate", i+1)
				}
			}
			if got := reassemble(t, enc); got != tt.text {
				t.Errorf("round trip = %q, want %q", got, tt.text)
			}
		})
	}
}

func TestEncodeTextErrors(t *testing.T) {
	if _, err := EncodeText("", 1); ErrorCode(err) != EINVALID {
		t.Errorf("empty text: err = %v, want EINVALID", err)
	}
	if _, err := EncodeText(strings.Repeat("a", 1531), 1); ErrorCode(err) != ETOOLARGE {
		t.Errorf("1531 septets: err = %v, want ETOOLARGE", err)
	}
	if _, err := EncodeText(strings.Repeat("ư", 671), 1); ErrorCode(err) != ETOOLARGE {
		t.Errorf("671 UCS-2 units: err = %v, want ETOOLARGE", err)
	}
	if _, err := EncodeText(strings.Repeat("ư", 670), 1); err != nil {
		t.Errorf("670 UCS-2 units: %v", err)
	}
	if c, n := CountParts(""); c != CodingGSM7 || n != 0 {
		t.Errorf("CountParts(\"\") = %v, %d", c, n)
	}
	if _, n := CountParts(strings.Repeat("a", 1531)); n != 11 {
		t.Errorf("CountParts(1531 septets) = %d, want 11", n)
	}
}

func TestEncodeTextRoundTrip(t *testing.T) {
	texts := []string{
		"Ma OTP cua ban la 123456. Khong chia se ma nay.",
		ApprovalText("Nguyễn Văn Đức"),
		"Mã OTP của bạn là 123456",
		strings.Repeat("Tài khoản định danh điện tử ", 12),
		strings.Repeat("{[€]} ", 100),
		"@@@ $$$ \r\n ÆØÅ",
		"\x00 nul and \xff invalid",
		strings.Repeat("𝒜😀", 60),
	}
	for _, text := range texts {
		enc, err := EncodeText(text, 7)
		if err != nil {
			t.Fatalf("EncodeText(%q): %v", text, err)
		}
		if got, want := reassemble(t, enc), string([]rune(text)); got != want {
			t.Errorf("round trip of %q = %q", text, got)
		}
	}
}

func TestDecodeText(t *testing.T) {
	tests := []struct {
		name    string
		coding  Coding
		udh     bool
		sm      []byte
		ref     uint8
		total   int
		seq     int
		text    string
		wantErr string
	}{
		{name: "plain gsm", coding: CodingGSM7, sm: []byte("Hi"), total: 1, seq: 1, text: "Hi"},
		{name: "8-bit concat", coding: CodingGSM7, udh: true, sm: []byte{5, 0, 3, 9, 2, 2, 'o', 'k'}, ref: 9, total: 2, seq: 2, text: "ok"},
		{name: "16-bit concat", coding: CodingGSM7, udh: true, sm: []byte{6, 8, 4, 1, 9, 3, 1, 'x'}, ref: 9, total: 3, seq: 1, text: "x"},
		{name: "other element skipped", coding: CodingGSM7, udh: true, sm: []byte{8, 0x24, 1, 1, 0, 3, 9, 2, 1, 'y'}, ref: 9, total: 2, seq: 1, text: "y"},
		{name: "udh without concat", coding: CodingGSM7, udh: true, sm: []byte{3, 0x24, 1, 1, 'z'}, total: 1, seq: 1, text: "z"},
		{name: "ucs2", coding: CodingUCS2, sm: []byte{0x01, 0xB0, 0xD8, 0x3D, 0xDE, 0x00}, total: 1, seq: 1, text: "ư😀"},
		{name: "ia5", coding: CodingIA5, sm: []byte("abc\x80"), total: 1, seq: 1, text: "abc\uFFFD"},
		{name: "latin1", coding: CodingLatin1, sm: []byte{'c', 0xE9}, total: 1, seq: 1, text: "cé"},
		{name: "empty udh", coding: CodingGSM7, udh: true, sm: nil, wantErr: "udh: empty"},
		{name: "header too long", coding: CodingGSM7, udh: true, sm: []byte{9, 0, 3}, wantErr: "exceeds"},
		{name: "truncated element", coding: CodingGSM7, udh: true, sm: []byte{1, 0}, wantErr: "truncated"},
		{name: "element overrun", coding: CodingGSM7, udh: true, sm: []byte{3, 0, 3, 1}, wantErr: "overruns"},
		{name: "bad concat length", coding: CodingGSM7, udh: true, sm: []byte{4, 0, 2, 1, 1}, wantErr: "length 2"},
		{name: "bad 16-bit length", coding: CodingGSM7, udh: true, sm: []byte{5, 8, 3, 1, 1, 1}, wantErr: "length 3"},
		{name: "seq beyond total", coding: CodingGSM7, udh: true, sm: []byte{5, 0, 3, 1, 2, 3}, wantErr: "part 3 of 2"},
		{name: "seq zero", coding: CodingGSM7, udh: true, sm: []byte{5, 0, 3, 1, 2, 0}, wantErr: "part 0 of 2"},
		{name: "odd ucs2", coding: CodingUCS2, sm: []byte{0, 'a', 0}, wantErr: "odd length"},
		{name: "unknown coding", coding: 0x04, sm: []byte("x"), wantErr: "unsupported data_coding coding(0x04)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, total, seq, text, err := DecodeText(tt.coding, tt.udh, tt.sm)
			if tt.wantErr != "" {
				if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want EINVALID containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ref != tt.ref || total != tt.total || seq != tt.seq || text != tt.text {
				t.Errorf("DecodeText = %d, %d, %d, %q; want %d, %d, %d, %q", ref, total, seq, text, tt.ref, tt.total, tt.seq, tt.text)
			}
		})
	}
}

func TestCodingString(t *testing.T) {
	for c, want := range map[Coding]string{CodingGSM7: "gsm7", CodingUCS2: "ucs2", CodingIA5: "ia5", CodingLatin1: "latin1", 0xF5: "coding(0xf5)"} {
		if got := c.String(); got != want {
			t.Errorf("Coding(%d).String() = %q, want %q", c, got, want)
		}
	}
}

// reassemble decodes every part of enc and joins them in sequence order,
// checking each part's header.
func reassemble(t testing.TB, enc Encoded) string {
	t.Helper()
	texts := make([]string, len(enc.Parts))
	var ref0 uint8
	for i, p := range enc.Parts {
		ref, total, seq, text, err := DecodeText(enc.Coding, enc.UDH, p)
		if err != nil {
			t.Fatalf("DecodeText part %d: %v", i+1, err)
		}
		if i == 0 {
			ref0 = ref
		}
		if ref != ref0 || total != len(enc.Parts) || seq != i+1 {
			t.Fatalf("part %d: ref %d total %d seq %d", i+1, ref, total, seq)
		}
		texts[seq-1] = text
	}
	return strings.Join(texts, "")
}

// airOctets is the size of a part on the air interface: UCS-2 as is,
// GSM-7 packed 7 bits a septet (the UDH padded to a septet boundary).
func airOctets(enc Encoded, part []byte) int {
	if enc.Coding != CodingGSM7 {
		return len(part)
	}
	if !enc.UDH {
		return (len(part)*7 + 7) / 8
	}
	septets := len(part) - concatUDHLen
	bits := concatUDHLen*8 + 1 + septets*7 // one fill bit after the 6-octet UDH
	return (bits + 7) / 8
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkEncodeTextApproval(b *testing.B) {
	text := ApprovalText("Nguyễn Thị Minh Khai")
	b.ReportAllocs()
	var parts int
	for b.Loop() {
		enc, err := EncodeText(text, 1)
		if err != nil {
			b.Fatal(err)
		}
		parts = len(enc.Parts)
	}
	b.ReportMetric(float64(parts), "parts/op")
	b.ReportMetric(float64(len(text)), "chars/op")
}

func BenchmarkPrepareText(b *testing.B) {
	for name, text := range map[string]string{
		"ascii":      "Ma OTP cua ban la 123456. Khong chia se ma nay cho bat ky ai.",
		"vietnamese": "Mã OTP của bạn là 123456. Không chia sẻ mã này cho bất kỳ ai.",
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = PrepareText(text)
			}
		})
	}
}
