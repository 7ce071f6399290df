package core

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Coding is an SMPP data_coding value.
type Coding uint8

const (
	// CodingGSM7 is the SMSC default alphabet, GSM 03.38, carried unpacked
	// (one septet per octet) in short_message.
	CodingGSM7 Coding = 0x00
	// CodingIA5 is IA5 / ASCII (decoded only).
	CodingIA5 Coding = 0x01
	// CodingLatin1 is ISO-8859-1 (decoded only).
	CodingLatin1 Coding = 0x03
	// CodingUCS2 is UCS-2, sent as UTF-16BE (surrogate pairs kept whole).
	CodingUCS2 Coding = 0x08
)

// String names the coding for logs.
func (c Coding) String() string {
	switch c {
	case CodingGSM7:
		return "gsm7"
	case CodingIA5:
		return "ia5"
	case CodingLatin1:
		return "latin1"
	case CodingUCS2:
		return "ucs2"
	}
	return fmt.Sprintf("coding(0x%02x)", uint8(c))
}

// Segmentation limits.
const (
	// MaxParts is the most SMS parts one message may take.
	MaxParts = 10

	gsm7SingleSeptets = 160 // one GSM-7 SMS
	gsm7PartSeptets   = 153 // one GSM-7 part after the concatenation UDH
	ucs2SingleUnits   = 70  // one UCS-2 SMS, in UTF-16 units
	ucs2PartUnits     = 67  // one UCS-2 part after the concatenation UDH
	concatUDHLen      = 6   // 05 00 03 ref total seq
)

// StripDiacritics removes diacritics from Latin letters: "Nguyễn Văn Đức"
// → "Nguyen Van Duc". Letters are decomposed (NFD), nonspacing marks
// dropped and the rest recomposed (NFC, so scripts that rely on
// composition, such as Hangul, are left as they were); đ, Đ (and Ð, often
// typed for Đ), which have no decomposition, map to d and D by hand. Text
// without diacritics is returned as is.
func StripDiacritics(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch {
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ', r == 'Ð':
			b.WriteByte('D')
		case unicode.Is(unicode.Mn, r):
		default:
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// PrepareText returns the text that will actually be sent for s: s
// without diacritics if that is GSM-7 encodable, else s unchanged (sent as
// UCS-2).
func PrepareText(s string) string {
	if t := StripDiacritics(s); IsGSM7(t) {
		return t
	}
	return s
}

// Encoded is a text encoded for SMPP: its data_coding and one
// short_message per SMS part. With UDH set (more than one part) every part
// begins with the 6-octet concatenation header 05 00 03 ref total seq and
// the submit must set esm_class UDHI (0x40).
type Encoded struct {
	Coding Coding
	Parts  [][]byte
	UDH    bool
}

// EncodeText encodes text as GSM-7 if every rune is representable, else as
// UCS-2 (UTF-16BE). A text of at most 160 septets / 70 UTF-16 units is one
// part without header; a longer one is split into parts of at most 153
// septets / 67 units, each behind a concatenation UDH with reference ref.
// An escape pair or a surrogate pair is never split. An empty text is
// EINVALID; more than MaxParts parts is ETOOLARGE.
//
// GSM-7 parts are unpacked: a full part is 6 + 153 = 159 octets in
// short_message, 140 octets on the air once the SMSC packs it.
func EncodeText(text string, ref uint8) (Encoded, error) {
	if text == "" {
		return Encoded{}, Errorf(EINVALID, "text: empty")
	}
	coding, units, parts := measureText(text)
	if parts > MaxParts {
		return Encoded{}, Errorf(ETOOLARGE, "text: needs %d SMS parts, at most %d allowed", parts, MaxParts)
	}
	width := 1 // octets per unit
	per := gsm7PartSeptets
	if coding == CodingUCS2 {
		width, per = 2, ucs2PartUnits
	}
	if parts == 1 {
		buf := appendUnits(make([]byte, 0, units*width), coding, text)
		return Encoded{Coding: coding, Parts: [][]byte{buf}}, nil
	}
	buf := make([]byte, 0, units*width+parts*concatUDHLen)
	out := make([][]byte, 0, parts)
	total := byte(parts)
	seq := byte(1)
	start := 0
	buf = append(buf, 0x05, 0x00, 0x03, ref, total, seq)
	used := 0
	// next part closes the current part and opens the next when n more
	// units do not fit.
	next := func(n int) {
		if used+n > per {
			out = append(out, buf[start:len(buf):len(buf)])
			start = len(buf)
			seq++
			buf = append(buf, 0x05, 0x00, 0x03, ref, total, seq)
			used = 0
		}
		used += n
	}
	if coding == CodingGSM7 {
		for i := 0; i < len(text); {
			code, ext, size := gsm7Next(text, i)
			i += size
			if ext {
				next(2)
				buf = append(buf, gsm7Escape, code)
			} else {
				next(1)
				buf = append(buf, code)
			}
		}
	} else {
		for _, r := range text {
			next(ucs2Len(r))
			buf = appendUCS2(buf, r)
		}
	}
	out = append(out, buf[start:len(buf):len(buf)])
	return Encoded{Coding: coding, Parts: out, UDH: true}, nil
}

// CountParts returns the coding EncodeText would choose for text and the
// number of SMS parts it would take (0 for an empty text; it may exceed
// MaxParts). It does not allocate.
func CountParts(text string) (Coding, int) {
	if text == "" {
		return CodingGSM7, 0
	}
	coding, _, parts := measureText(text)
	return coding, parts
}

// measureText picks the coding of a non-empty text and returns its length
// in units (septets or UTF-16 units) and its number of parts.
func measureText(text string) (coding Coding, units, parts int) {
	if n, ok := gsm7Len(text); ok {
		if n <= gsm7SingleSeptets {
			return CodingGSM7, n, 1
		}
		// Greedy split, as EncodeText does: an escape pair that does not
		// fit opens the next part.
		parts, used := 1, 0
		for i := 0; i < len(text); {
			_, ext, size := gsm7Next(text, i)
			i += size
			w := 1
			if ext {
				w = 2
			}
			if used+w > gsm7PartSeptets {
				parts++
				used = 0
			}
			used += w
		}
		return CodingGSM7, n, parts
	}
	for _, r := range text {
		units += ucs2Len(r)
	}
	if units <= ucs2SingleUnits {
		return CodingUCS2, units, 1
	}
	parts, used := 1, 0
	for _, r := range text {
		w := ucs2Len(r)
		if used+w > ucs2PartUnits {
			parts++
			used = 0
		}
		used += w
	}
	return CodingUCS2, units, parts
}

// ucs2Len is the number of UTF-16 units of r.
func ucs2Len(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

func appendUnits(b []byte, coding Coding, text string) []byte {
	if coding == CodingGSM7 {
		return appendGSM7(b, text)
	}
	for _, r := range text {
		b = appendUCS2(b, r)
	}
	return b
}

// appendUCS2 appends r in UTF-16BE (a surrogate pair above U+FFFF).
func appendUCS2(b []byte, r rune) []byte {
	if r > 0xFFFF {
		hi, lo := utf16.EncodeRune(r)
		return append(b, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
	}
	return append(b, byte(r>>8), byte(r))
}

// DecodeText decodes one short_message: if udh is set (esm_class UDHI) it
// reads the user data header, taking ref, total and seq from an 8-bit or
// 16-bit (low byte returned) concatenation element, then decodes the rest
// as coding (GSM-7 unpacked, UCS-2/UTF-16BE, IA5 or Latin-1). Without a
// concatenation element total and seq are 1. Malformed input is EINVALID.
func DecodeText(coding Coding, udh bool, sm []byte) (ref uint8, total, seq int, text string, err error) {
	total, seq = 1, 1
	payload := sm
	if udh {
		if len(sm) == 0 {
			return 0, 0, 0, "", Errorf(EINVALID, "udh: empty message")
		}
		hl := int(sm[0])
		if 1+hl > len(sm) {
			return 0, 0, 0, "", Errorf(EINVALID, "udh: header length %d exceeds message length %d", hl, len(sm))
		}
		ies := sm[1 : 1+hl]
		payload = sm[1+hl:]
		for len(ies) > 0 {
			if len(ies) < 2 {
				return 0, 0, 0, "", Errorf(EINVALID, "udh: truncated element")
			}
			id, il := ies[0], int(ies[1])
			if 2+il > len(ies) {
				return 0, 0, 0, "", Errorf(EINVALID, "udh: element 0x%02x overruns the header", id)
			}
			data := ies[2 : 2+il]
			switch id {
			case 0x00:
				if il != 3 {
					return 0, 0, 0, "", Errorf(EINVALID, "udh: concatenation element of length %d, want 3", il)
				}
				ref, total, seq = data[0], int(data[1]), int(data[2])
			case 0x08:
				if il != 4 {
					return 0, 0, 0, "", Errorf(EINVALID, "udh: 16-bit concatenation element of length %d, want 4", il)
				}
				ref, total, seq = data[1], int(data[2]), int(data[3])
			}
			ies = ies[2+il:]
		}
		if total == 0 || seq == 0 || seq > total {
			return 0, 0, 0, "", Errorf(EINVALID, "udh: part %d of %d", seq, total)
		}
	}
	switch coding {
	case CodingGSM7:
		text = DecodeGSM7(payload)
	case CodingUCS2:
		if len(payload)%2 != 0 {
			return 0, 0, 0, "", Errorf(EINVALID, "ucs2: odd length %d", len(payload))
		}
		u := make([]uint16, len(payload)/2)
		for i := range u {
			u[i] = uint16(payload[2*i])<<8 | uint16(payload[2*i+1])
		}
		text = string(utf16.Decode(u))
	case CodingIA5:
		var b strings.Builder
		b.Grow(len(payload))
		for _, c := range payload {
			if c >= utf8.RuneSelf {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteByte(c)
			}
		}
		text = b.String()
	case CodingLatin1:
		var b strings.Builder
		b.Grow(len(payload))
		for _, c := range payload {
			b.WriteRune(rune(c))
		}
		text = b.String()
	default:
		return 0, 0, 0, "", Errorf(EINVALID, "unsupported data_coding %s", coding)
	}
	return ref, total, seq, text, nil
}
