package core

import (
	"strings"
	"unicode/utf8"
)

// msisdnLen is the length of a normalised MSISDN: "84" + 9 digits.
const msisdnLen = 11

// maxPhoneInput bounds the raw input NormalizeMSISDN looks at; a phone
// number with separators is never longer than this.
const maxPhoneInput = 40

// NormalizeMSISDN turns a Vietnamese mobile number written as 0xxxxxxxxx,
// +84xxxxxxxxx, 84xxxxxxxxx or 0084xxxxxxxxx (spaces, dots, dashes and
// parentheses allowed as separators) into its international form: "84"
// followed by 9 digits. Anything else is EINVALID with a message saying
// what is wrong: landlines, unknown national prefixes (the 3-digit prefix
// 0 + first two subscriber digits must be one of DefaultPrefixes), wrong
// lengths, stray characters.
//
// An input already in normal form is returned as is, without allocating.
func NormalizeMSISDN(s string) (string, error) {
	if isNormalMSISDN(s) {
		return s, nil
	}
	if len(s) > maxPhoneInput {
		return "", Errorf(EINVALID, "phone: too long")
	}
	var d [16]byte
	n := 0
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(d) {
				return "", Errorf(EINVALID, "phone: too many digits")
			}
			d[n] = c
			n++
		case c == ' ' || c == '\t' || c == '.' || c == '-' || c == '(' || c == ')':
		case c == '+':
			if plus || n > 0 {
				return "", Errorf(EINVALID, "phone: '+' allowed only before the country code")
			}
			plus = true
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return "", Errorf(EINVALID, "phone: invalid character %q", r)
		}
	}
	var sub []byte // the 9 subscriber digits after the country code / trunk 0
	switch {
	case n == 0:
		return "", Errorf(EINVALID, "phone: empty")
	case plus:
		if n == 11 && d[0] == '8' && d[1] == '4' {
			sub = d[2:11]
		} else if n >= 2 && d[0] == '8' && d[1] == '4' {
			return "", phoneShapeError(d[2:n])
		} else {
			return "", Errorf(EINVALID, "phone: not a Vietnamese number (country code is not +84)")
		}
	case n == 10 && d[0] == '0':
		sub = d[1:10]
	case n == 11 && d[0] == '8' && d[1] == '4':
		sub = d[2:11]
	case n == 13 && d[0] == '0' && d[1] == '0' && d[2] == '8' && d[3] == '4':
		sub = d[4:13]
	case n > 4 && d[0] == '0' && d[1] == '0' && d[2] == '8' && d[3] == '4':
		return "", phoneShapeError(d[4:n])
	case n > 2 && d[0] == '8' && d[1] == '4':
		return "", phoneShapeError(d[2:n])
	case n > 1 && d[0] == '0' && d[1] != '0':
		return "", phoneShapeError(d[1:n])
	default:
		return "", Errorf(EINVALID, "phone: not a Vietnamese mobile number (want 0xxxxxxxxx or +84xxxxxxxxx)")
	}
	if !isMobilePrefix(sub[0], sub[1]) {
		return "", prefixError(sub[0], sub[1])
	}
	var out [msisdnLen]byte
	out[0], out[1] = '8', '4'
	copy(out[2:], sub)
	return string(out[:]), nil
}

// phoneShapeError explains why national digits (after 0 or 84) of the wrong
// length are not a mobile number.
func phoneShapeError(national []byte) error {
	if len(national) > 0 && national[0] == '2' {
		return Errorf(EINVALID, "phone: landline number (prefix 02x), not a Vietnamese mobile number")
	}
	if len(national) == 10 && national[0] == '1' {
		return Errorf(EINVALID, "phone: old 11-digit 01xx number (renumbered in 2018), not a Vietnamese mobile number")
	}
	return Errorf(EINVALID, "phone: %d digits after the prefix, a Vietnamese mobile number has 9", len(national))
}

func prefixError(a, b byte) error {
	if a == '2' {
		return Errorf(EINVALID, "phone: landline prefix 0%c%c, not a Vietnamese mobile number", a, b)
	}
	return Errorf(EINVALID, "phone: prefix 0%c%c is not a Vietnamese mobile prefix", a, b)
}

// isNormalMSISDN reports whether s is already "84" + 9 digits with a mobile
// prefix.
func isNormalMSISDN(s string) bool {
	if len(s) != msisdnLen || s[0] != '8' || s[1] != '4' {
		return false
	}
	for i := 2; i < msisdnLen; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return isMobilePrefix(s[2], s[3])
}

// isMobilePrefix reports whether national prefix 0ab belongs to a
// Vietnamese mobile operator: the union of DefaultPrefixes (kept equal by
// TestMobilePrefixesMatchDefaultPrefixes).
func isMobilePrefix(a, b byte) bool {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return false
	}
	switch int(a-'0')*10 + int(b-'0') {
	case 32, 33, 34, 35, 36, 37, 38, 39, // Viettel
		86, 96, 97, 98, // Viettel
		81, 82, 83, 84, 85, 88, 91, 94, // VinaPhone
		70, 76, 77, 78, 79, 89, 90, 93, // MobiFone
		52, 56, 58, 92, // Vietnamobile
		59, 99, // Gmobile
		87: // Itelecom
		return true
	}
	return false
}

// MaskMSISDN hides the middle of a phone number for logs and agent views:
// "84912345678" → "84912***678". Short or odd input is masked entirely.
func MaskMSISDN(msisdn string) string {
	return maskMiddle(msisdn, 5, 3)
}

// MaskIDNumber hides the middle of a personal ID number: the first 3 and
// last 2 digits stay visible, "001085012323" → "001*******23". Short or odd
// input is masked entirely.
func MaskIDNumber(id string) string {
	return maskMiddle(id, 3, 2)
}

// maskMiddle keeps head and tail bytes of an ASCII string and stars the
// rest, which must be at least 3 bytes long.
func maskMiddle(s string, head, tail int) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] < ' ' {
			ascii = false
			break
		}
	}
	if !ascii {
		return strings.Repeat("*", utf8.RuneCountInString(s))
	}
	if len(s) < head+tail+3 {
		return strings.Repeat("*", len(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:head])
	for i := head; i < len(s)-tail; i++ {
		b.WriteByte('*')
	}
	b.WriteString(s[len(s)-tail:])
	return b.String()
}
