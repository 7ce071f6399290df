package web

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"vneidgw/core"
)

// Fast paths of the hot request bodies (an approval line, a notice) and
// answers. A decoder here accepts only a plain subset of JSON: an object
// whose keys are spelled exactly as the struct tags and whose values are
// strings (or an integer for "level"). Anything else (an unknown or
// differently cased key, null, a number where a string is wanted, a
// syntax error, trailing data, a lone surrogate escape, invalid UTF-8)
// makes it report !ok, and the caller decodes again with decodeStrict,
// which gives the exact answer and error message encoding/json gives. On
// the subset the result is what decodeStrict would produce.

// jsonScanner walks one JSON object.
type jsonScanner struct {
	b   []byte
	src string // b as a string, made on the first string value: values without escapes share it
	i   int
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// consume skips spaces and then c, or reports false.
func (s *jsonScanner) consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object calls field for each key of the object that b holds (with spaces
// around it); field reads the value with str or int and reports whether it
// took it. A false from field or any irregularity is !ok.
func (s *jsonScanner) object(field func(key []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return s.end()
	}
	for {
		s.skipSpace()
		key, ok := s.rawKey()
		if !ok || !s.consume(':') {
			return false
		}
		s.skipSpace()
		if !field(key) {
			return false
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return s.end()
		}
		return false
	}
}

// end reports whether only spaces follow.
func (s *jsonScanner) end() bool {
	s.skipSpace()
	return s.i == len(s.b)
}

// rawKey reads a key without escapes.
func (s *jsonScanner) rawKey() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			s.i = j + 1
			return s.b[start:j], true
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
	}
	return nil, false
}

// str reads a string value into *dst.
func (s *jsonScanner) str(dst *string) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start := s.i + 1
	ascii := true
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if !jsonSpecial[c] {
			continue // most bytes: one table look-up, not four tests
		}
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(s.b[start:j]) {
				return false // encoding/json replaces invalid bytes: leave it that work
			}
			if s.src == "" {
				s.src = string(s.b) // one copy for all the values of the object
			}
			*dst = s.src[start:j]
			s.i = j + 1
			return true
		case c == '\\':
			return s.escapedStr(dst, start)
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return false
}

// jsonSpecial marks the bytes str must look at inside a string: the
// quote, the backslash, control characters and non-ASCII bytes.
var jsonSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// escapedStr reads a string with escapes from start (after the quote).
func (s *jsonScanner) escapedStr(dst *string, start int) bool {
	out := make([]byte, 0, 64)
	j := start
	for j < len(s.b) {
		c := s.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return false
			}
			*dst = string(out)
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(s.b) {
			return false
		}
		switch e := s.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.b, j+2)
			if !ok || utf16.IsSurrogate(r) {
				// Pairs and lone surrogates are left to encoding/json.
				return false
			}
			out = utf8.AppendRune(out, r)
			j += 6
			continue
		default:
			return false
		}
		j += 2
	}
	return false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// int reads an integer value (no fraction, no exponent, at most 18 digits).
func (s *jsonScanner) int(dst *int) bool {
	j := s.i
	neg := j < len(s.b) && s.b[j] == '-'
	if neg {
		j++
	}
	d := j
	for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
		j++
	}
	n := j - d
	if n == 0 || n > 18 || (n > 1 && s.b[d] == '0') {
		return false
	}
	if j < len(s.b) && (s.b[j] == '.' || s.b[j] == 'e' || s.b[j] == 'E') {
		return false
	}
	v, err := strconv.ParseInt(string(s.b[s.i:j]), 10, 64)
	if err != nil || int64(int(v)) != v {
		return false
	}
	*dst = int(v)
	s.i = j
	return true
}

// fastApplication decodes an approval line into a (zero on entry) on the
// fast path; !ok means decode it with decodeStrict (after zeroing a).
func fastApplication(line []byte, a *core.Application) bool {
	s := jsonScanner{b: line}
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "application_id":
			return s.str(&a.ApplicationID)
		case "id_number":
			return s.str(&a.IDNumber)
		case "full_name":
			return s.str(&a.FullName)
		case "date_of_birth":
			return s.str(&a.DateOfBirth)
		case "sex":
			return s.str((*string)(&a.Sex))
		case "phone":
			return s.str(&a.Phone)
		case "level":
			return s.int(&a.Level)
		case "callback_url":
			return s.str(&a.CallbackURL)
		case "client_id":
			return s.str(&a.ClientID)
		case "message_id":
			return s.str(&a.MessageID)
		}
		return false // received_at, unknown or differently cased keys
	})
}

// fastNotice decodes a notice body into n (zero on entry); see
// fastApplication.
func fastNotice(body []byte, n *noticeRequest) bool {
	s := jsonScanner{b: body}
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "to":
			return s.str(&n.To)
		case "text":
			return s.str(&n.Text)
		case "callback_url":
			return s.str(&n.CallbackURL)
		case "reference":
			return s.str(&n.Reference)
		}
		return false
	})
}
