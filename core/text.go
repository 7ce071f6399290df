package core

import (
	"fmt"
	"strings"
	"sync"
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
//
// Text made only of ASCII and of the runes stripTable knows (Vietnamese
// and most other accented Latin letters, combining marks) is stripped
// rune by rune, without the two normalisation passes; stripDiacriticsNorm
// does the rest.
func StripDiacritics(s string) string {
	if isASCII(s) {
		return s
	}
	var buf [128]byte
	if b, ok := appendStrippedASCII(buf[:0], s); ok {
		return string(b)
	}
	return stripDiacriticsNorm(s)
}

// isASCII reports whether s is all ASCII, eight bytes at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		// One 64-bit load: the compiler merges the eight byte loads.
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stripDiacriticsNorm is StripDiacritics by the normalisation forms: NFD,
// nonspacing marks dropped, đ Đ Ð mapped by hand, NFC.
func stripDiacriticsNorm(s string) string {
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

// appendStrippedASCII appends StripDiacritics(s) to dst when s is made only
// of ASCII and of runes stripTable knows; ok is false (and dst unusable)
// otherwise. The result is then ASCII.
func appendStrippedASCII(dst []byte, s string) (_ []byte, ok bool) {
	table := stripTable()
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if int(r) >= len(table) {
			return dst, false
		}
		switch v := table[r]; v {
		case stripUnknown:
			return dst, false
		case stripDrop:
		default:
			dst = append(dst, v)
		}
		i += size
	}
	return dst, true
}

// stripTable entries, besides an ASCII byte (what the rune strips to).
const (
	stripUnknown = 0x00 // not in the table: strip by the normalisation forms
	stripDrop    = 0xFF // a nonspacing mark: dropped
)

// stripTable maps a rune below U+1F00 to what StripDiacritics makes of it
// on its own. A rune is in it only if its NFD is at most one ASCII letter
// (or đ, Đ, Ð) and nonspacing marks: stripping a string of such runes and
// ASCII is then the concatenation of the runes' entries, because the
// marks are all dropped, the starters never move in canonical reordering
// and NFC leaves ASCII as it is. Each entry is also checked against
// stripDiacriticsNorm of the rune. Built on first use (the Latin ranges
// and the combining diacritical marks, about a millisecond).
var stripTable = sync.OnceValue(func() *[0x1F00]byte {
	t := new([0x1F00]byte)
	for _, rg := range [][2]rune{{0x80, 0x250}, {0x300, 0x370}, {0x1E00, 0x1F00}} {
		for r := rg[0]; r < rg[1]; r++ {
			t[r] = stripEntry(r)
		}
	}
	return t
})

// stripEntry is r's stripTable entry.
func stripEntry(r rune) byte {
	v := byte(stripDrop)
	for _, x := range norm.NFD.String(string(r)) {
		var base byte
		switch {
		case x == 'đ':
			base = 'd'
		case x == 'Đ', x == 'Ð':
			base = 'D'
		case x < utf8.RuneSelf:
			base = byte(x)
		case unicode.Is(unicode.Mn, x):
			continue
		default:
			return stripUnknown
		}
		if v != stripDrop || base == stripUnknown {
			return stripUnknown // two letters, or NUL
		}
		v = base
	}
	want := ""
	if v != stripDrop {
		want = string(rune(v))
	}
	if stripDiacriticsNorm(string(r)) != want {
		return stripUnknown
	}
	return v
}

// PrepareText returns the text that will actually be sent for s: s
// without diacritics if that is GSM-7 encodable, else s unchanged (sent as
// UCS-2).
func PrepareText(s string) string {
	text, _ := prepareText(s)
	return text
}

// prepareText is PrepareText, also returning the number of parts
// CountParts gives for the text, measured in the same pass that checks
// the stripped text is GSM-7.
func prepareText(s string) (text string, parts int) {
	t := StripDiacritics(s)
	if t == "" {
		return "", 0
	}
	if _, parts, ok := measureGSM7(t); ok {
		return t, parts
	}
	_, _, parts = measureText(s)
	return s, parts
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
	if coding == CodingGSM7 {
		if parts == 1 {
			return Encoded{Coding: coding, Parts: [][]byte{appendGSM7(make([]byte, 0, units), text)}}, nil
		}
		return Encoded{Coding: coding, Parts: splitGSM7(text, units, parts, ref), UDH: true}, nil
	}
	if parts == 1 {
		return Encoded{Coding: coding, Parts: [][]byte{appendUCS2Text(make([]byte, 0, 2*units), text)}}, nil
	}
	return Encoded{Coding: coding, Parts: splitUCS2(text, units, parts, ref), UDH: true}, nil
}

// concatHeader appends the concatenation UDH of part seq of total.
func concatHeader(b []byte, ref, total, seq byte) []byte {
	return append(b, 0x05, 0x00, 0x03, ref, total, seq)
}

// maxGSM7Septets is the most septets of a text EncodeText encodes.
const maxGSM7Septets = MaxParts * gsm7PartSeptets

// splitGSM7 encodes a GSM-7 text of units septets (at most
// maxGSM7Septets) in parts (as measureGSM7 counted them) of at most
// gsm7PartSeptets, each behind its concatenation UDH, all in one buffer.
// The septets are encoded first, on the stack, then cut: an escape only
// ever begins a pair (no code is 0x1B, TestNoSeptetIsEscape), so a cut
// after an escape would split a pair and moves one septet back, which is
// the greedy split measureGSM7 counts.
func splitGSM7(text string, units, parts int, ref uint8) [][]byte {
	var stack [maxGSM7Septets]byte
	septets := appendGSM7(stack[:0], text)
	buf := make([]byte, 0, units+parts*concatUDHLen)
	out := make([][]byte, 0, parts)
	for seq := 1; len(septets) > 0; seq++ {
		n := len(septets)
		if n > gsm7PartSeptets {
			n = gsm7PartSeptets
			if septets[n-1] == gsm7Escape {
				n--
			}
		}
		start := len(buf)
		buf = concatHeader(buf, ref, byte(parts), byte(seq))
		buf = append(buf, septets[:n]...)
		out = append(out, buf[start:len(buf):len(buf)])
		septets = septets[n:]
	}
	return out
}

// splitUCS2 is splitGSM7 for UCS-2: parts of at most ucs2PartUnits UTF-16
// units, a surrogate pair never split.
func splitUCS2(text string, units, parts int, ref uint8) [][]byte {
	buf := make([]byte, 0, 2*units+parts*concatUDHLen)
	out := make([][]byte, 0, parts)
	total, seq := byte(parts), byte(1)
	buf = concatHeader(buf, ref, total, seq)
	start, used := 0, 0
	for _, r := range text {
		w := ucs2Len(r)
		if used += w; used > ucs2PartUnits {
			out = append(out, buf[start:len(buf):len(buf)])
			start, used = len(buf), w
			seq++
			buf = concatHeader(buf, ref, total, seq)
		}
		buf = appendUCS2(buf, r)
	}
	return append(out, buf[start:len(buf):len(buf)])
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
	if units, parts, ok := measureGSM7(text); ok {
		return CodingGSM7, units, parts
	}
	units, parts = measureUCS2(text)
	return CodingUCS2, units, parts
}

// measureGSM7 returns the septets of a non-empty text and its number of
// parts; ok is false if a rune has no GSM 03.38 form. The pass over the
// text only adds up septets; the parts are then units/153 rounded up,
// unless the text has extension characters, whose escape pairs the split
// never cuts (gsm7SplitParts, a second pass, for those rare texts).
func measureGSM7(text string) (units, parts int, ok bool) {
	runes, exts := 0, 0
	for i := 0; i < len(text); runes++ {
		if c := text[i]; c < utf8.RuneSelf {
			v := gsm7ASCII[c]
			if v == 0xFF {
				return 0, 0, false
			}
			exts += int(v >> 7)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		_, ext, ok := gsm7Code(r)
		if !ok {
			return 0, 0, false
		}
		if ext {
			exts++
		}
		i += size
	}
	units = runes + exts
	switch {
	case units <= gsm7SingleSeptets:
		parts = 1
	case exts == 0:
		parts = (units + gsm7PartSeptets - 1) / gsm7PartSeptets
	default:
		parts = gsm7SplitParts(text)
	}
	return units, parts, true
}

// gsm7SplitParts counts the parts of EncodeText's greedy split of a
// GSM-7 text longer than one SMS: an escape pair that does not fit opens
// the next part.
func gsm7SplitParts(text string) int {
	parts, used := 1, 0
	for i := 0; i < len(text); {
		v, size := gsm7Next(text, i)
		i += size
		w := 1 + int(v>>7)
		if used += w; used > gsm7PartSeptets {
			parts++
			used = w
		}
	}
	return parts
}

// measureUCS2 returns the UTF-16 units of a non-empty text and its number
// of parts, as measureGSM7 does: units/67 rounded up, unless the text has
// surrogate pairs, which the split never cuts (ucs2SplitParts).
func measureUCS2(text string) (units, parts int) {
	pairs := 0
	for _, r := range text {
		units++
		if r > 0xFFFF {
			pairs++
		}
	}
	units += pairs
	switch {
	case units <= ucs2SingleUnits:
		return units, 1
	case pairs == 0:
		return units, (units + ucs2PartUnits - 1) / ucs2PartUnits
	}
	return units, ucs2SplitParts(text)
}

// ucs2SplitParts counts the parts of EncodeText's greedy split of a UCS-2
// text longer than one SMS: a surrogate pair that does not fit opens the
// next part.
func ucs2SplitParts(text string) int {
	parts, used := 1, 0
	for _, r := range text {
		w := ucs2Len(r)
		if used += w; used > ucs2PartUnits {
			parts++
			used = w
		}
	}
	return parts
}

// ucs2Len is the number of UTF-16 units of r.
func ucs2Len(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// appendUCS2Text appends text in UTF-16BE.
func appendUCS2Text(b []byte, text string) []byte {
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
