package core

import (
	"strings"
	"unicode/utf8"
)

// gsm7Escape introduces a character of the GSM 03.38 extension table.
const gsm7Escape = 0x1B

// gsm7ASCII maps each ASCII byte to its GSM 03.38 septet: 0xFF if it has
// none, 0x80|code for the extension table. A constant, so it cannot be
// changed at run time.
const gsm7ASCII = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x0a\xff\xff\x0d\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\x20\x21\x22\x23\x02\x25\x26\x27\x28\x29\x2a\x2b\x2c\x2d\x2e\x2f" +
	"\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\x3e\x3f" +
	"\x00\x41\x42\x43\x44\x45\x46\x47\x48\x49\x4a\x4b\x4c\x4d\x4e\x4f" +
	"\x50\x51\x52\x53\x54\x55\x56\x57\x58\x59\x5a\xbc\xaf\xbe\x94\x11" +
	"\xff\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f" +
	"\x70\x71\x72\x73\x74\x75\x76\x77\x78\x79\x7a\xa8\xc0\xa9\xbd\xff"

// gsm7Code returns the GSM 03.38 septet of r and whether it is in the
// extension table (sent as 0x1B + code, counting two septets). ok is false
// if r has no GSM 03.38 form. TestGSM7TableBijection checks it against
// gsm7Rune and gsm7ExtRune.
func gsm7Code(r rune) (code byte, ext, ok bool) {
	if r < utf8.RuneSelf {
		if r < 0 {
			return 0, false, false
		}
		v := gsm7ASCII[r]
		return v & 0x7F, v&0x80 != 0 && v != 0xFF, v != 0xFF
	}
	switch r {
	case '£':
		return 0x01, false, true
	case '¥':
		return 0x03, false, true
	case 'è':
		return 0x04, false, true
	case 'é':
		return 0x05, false, true
	case 'ù':
		return 0x06, false, true
	case 'ì':
		return 0x07, false, true
	case 'ò':
		return 0x08, false, true
	case 'Ç':
		return 0x09, false, true
	case 'Ø':
		return 0x0B, false, true
	case 'ø':
		return 0x0C, false, true
	case 'Å':
		return 0x0E, false, true
	case 'å':
		return 0x0F, false, true
	case 'Δ':
		return 0x10, false, true
	case 'Φ':
		return 0x12, false, true
	case 'Γ':
		return 0x13, false, true
	case 'Λ':
		return 0x14, false, true
	case 'Ω':
		return 0x15, false, true
	case 'Π':
		return 0x16, false, true
	case 'Ψ':
		return 0x17, false, true
	case 'Σ':
		return 0x18, false, true
	case 'Θ':
		return 0x19, false, true
	case 'Ξ':
		return 0x1A, false, true
	case 'Æ':
		return 0x1C, false, true
	case 'æ':
		return 0x1D, false, true
	case 'ß':
		return 0x1E, false, true
	case 'É':
		return 0x1F, false, true
	case '¤':
		return 0x24, false, true
	case '¡':
		return 0x40, false, true
	case 'Ä':
		return 0x5B, false, true
	case 'Ö':
		return 0x5C, false, true
	case 'Ñ':
		return 0x5D, false, true
	case 'Ü':
		return 0x5E, false, true
	case '§':
		return 0x5F, false, true
	case '¿':
		return 0x60, false, true
	case 'ä':
		return 0x7B, false, true
	case 'ö':
		return 0x7C, false, true
	case 'ñ':
		return 0x7D, false, true
	case 'ü':
		return 0x7E, false, true
	case 'à':
		return 0x7F, false, true
	// Extension table.
	case '€':
		return 0x65, true, true
	}
	return 0, false, false
}

// gsm7Rune returns the character of a septet of the default alphabet
// (c < 0x80). 0x1B (escape) decodes to a space when it stands alone.
func gsm7Rune(c byte) rune {
	if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
		return rune(c)
	}
	switch c {
	case ' ', '!', '"', '#', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
		':', ';', '<', '=', '>', '?', '\n', '\r':
		return rune(c)
	case 0x00:
		return '@'
	case 0x01:
		return '£'
	case 0x02:
		return '$'
	case 0x03:
		return '¥'
	case 0x04:
		return 'è'
	case 0x05:
		return 'é'
	case 0x06:
		return 'ù'
	case 0x07:
		return 'ì'
	case 0x08:
		return 'ò'
	case 0x09:
		return 'Ç'
	case 0x0B:
		return 'Ø'
	case 0x0C:
		return 'ø'
	case 0x0E:
		return 'Å'
	case 0x0F:
		return 'å'
	case 0x10:
		return 'Δ'
	case 0x11:
		return '_'
	case 0x12:
		return 'Φ'
	case 0x13:
		return 'Γ'
	case 0x14:
		return 'Λ'
	case 0x15:
		return 'Ω'
	case 0x16:
		return 'Π'
	case 0x17:
		return 'Ψ'
	case 0x18:
		return 'Σ'
	case 0x19:
		return 'Θ'
	case 0x1A:
		return 'Ξ'
	case 0x1B:
		return ' '
	case 0x1C:
		return 'Æ'
	case 0x1D:
		return 'æ'
	case 0x1E:
		return 'ß'
	case 0x1F:
		return 'É'
	case 0x24:
		return '¤'
	case 0x40:
		return '¡'
	case 0x5B:
		return 'Ä'
	case 0x5C:
		return 'Ö'
	case 0x5D:
		return 'Ñ'
	case 0x5E:
		return 'Ü'
	case 0x5F:
		return '§'
	case 0x60:
		return '¿'
	case 0x7B:
		return 'ä'
	case 0x7C:
		return 'ö'
	case 0x7D:
		return 'ñ'
	case 0x7E:
		return 'ü'
	case 0x7F:
		return 'à'
	}
	return utf8.RuneError
}

// gsm7ExtRune returns the character of an extension-table code (the septet
// after 0x1B); ok is false for codes the table leaves undefined.
func gsm7ExtRune(c byte) (r rune, ok bool) {
	switch c {
	case 0x0A:
		return '\f', true // page break; decoded but never encoded
	case 0x14:
		return '^', true
	case 0x28:
		return '{', true
	case 0x29:
		return '}', true
	case 0x2F:
		return '\\', true
	case 0x3C:
		return '[', true
	case 0x3D:
		return '~', true
	case 0x3E:
		return ']', true
	case 0x40:
		return '|', true
	case 0x65:
		return '€', true
	}
	return 0, false
}

// gsm7Len returns the number of septets s takes in GSM 03.38 (extension
// characters count two) and whether every rune is representable.
func gsm7Len(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			v := gsm7ASCII[c]
			if v == 0xFF {
				return 0, false
			}
			n += 1 + int(v>>7) // extension characters count two
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		_, ext, ok := gsm7Code(r)
		if !ok {
			return 0, false
		}
		n++
		if ext {
			n++
		}
		i += size
	}
	return n, true
}

// IsGSM7 reports whether every rune of s is in the GSM 03.38 default
// alphabet or its extension table.
func IsGSM7(s string) bool {
	_, ok := gsm7Len(s)
	return ok
}

// EncodeGSM7 encodes s in the GSM 03.38 default alphabet, unpacked (one
// septet per octet, as SMPP data_coding 0 carries it), extension-table
// characters as 0x1B + code. ok is false if a rune of s has no GSM 03.38
// form; the text is then never sent as GSM-7.
func EncodeGSM7(s string) ([]byte, bool) {
	n, ok := gsm7Len(s)
	if !ok {
		return nil, false
	}
	return appendGSM7(make([]byte, 0, n), s), true
}

// appendGSM7 appends the septets of s, which must be GSM-7 encodable.
func appendGSM7(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		// ASCII without a call (&0x7F keeps the look-up in bounds; another
		// byte is looked up again by gsm7Next).
		v, size := gsm7ASCII[s[i]&0x7F], 1
		if s[i] >= utf8.RuneSelf {
			v, size = gsm7Next(s, i)
		}
		i += size
		if v >= 0x80 {
			b = append(b, gsm7Escape, v&0x7F)
			continue
		}
		b = append(b, v)
	}
	return b
}

// gsm7Next returns the septet of the rune at s[i] (s GSM-7 encodable) in
// gsm7ASCII's form (0x80|code for an extension character) and the rune's
// size in bytes. Loops over a text look ASCII up in gsm7ASCII themselves
// and call it for the other runes only: it is too large to inline.
func gsm7Next(s string, i int) (v byte, size int) {
	if c := s[i]; c < utf8.RuneSelf {
		return gsm7ASCII[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	code, ext, _ := gsm7Code(r)
	if ext {
		code |= 0x80
	}
	return code, size
}

// DecodeGSM7 decodes unpacked GSM 03.38 septets. An escape followed by a
// code the extension table does not define decodes as that code's default
// character (as 03.38 asks of receivers); a trailing escape as a space;
// an octet above 0x7F as U+FFFD.
func DecodeGSM7(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x80 {
			sb.WriteRune(utf8.RuneError)
			continue
		}
		if c == gsm7Escape && i+1 < len(b) && b[i+1] < 0x80 {
			i++
			if r, ok := gsm7ExtRune(b[i]); ok {
				sb.WriteRune(r)
			} else {
				sb.WriteRune(gsm7Rune(b[i]))
			}
			continue
		}
		sb.WriteRune(gsm7Rune(c))
	}
	return sb.String()
}
