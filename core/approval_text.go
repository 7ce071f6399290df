package core

import (
	"strings"
	"unicode"
)

// Approval SMS template (DESIGN.md, the citizen's journey step 2), around
// the citizen's name.
const (
	approvalTextHead = "Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan "
	approvalTextTail = " da duoc phe duyet. De nghi truy cap ung dung VNeID hoac dia chi https://vneid.gov.vn de kich hoat tai khoan."
)

// ApprovalText returns the approval SMS for a citizen: the fixed
// notice with the full name without diacritics, in upper case, whitespace
// collapsed, and any rune that is still not GSM-7 dropped, so the whole
// text is GSM-7 (two SMS parts for a typical name).
func ApprovalText(fullName string) string {
	// A name StripDiacritics makes ASCII rune by rune (every Vietnamese
	// name) is stripped, upper-cased and filtered in one pass, into the
	// one string returned.
	var buf [128]byte
	if name, ok := appendStrippedASCII(buf[:0], fullName); ok {
		return approvalTextASCII(name)
	}
	name := strings.ToUpper(StripDiacritics(fullName))
	var b strings.Builder
	b.Grow(len(approvalTextHead) + len(name) + len(approvalTextTail))
	b.WriteString(approvalTextHead)
	space := false // a space is owed before the next kept rune
	wrote := false
	for _, r := range name {
		if unicode.IsSpace(r) {
			space = wrote
			continue
		}
		if _, _, ok := gsm7Code(r); !ok {
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		wrote = true
	}
	if !wrote {
		return approvalTextNoName
	}
	b.WriteString(approvalTextTail)
	return b.String()
}

// approvalTextNoName is the approval SMS when no printable name is left:
// the sentence kept well formed.
var approvalTextNoName = approvalTextHead[:len(approvalTextHead)-1] + approvalTextTail

// approvalTextASCII is ApprovalText of a name already stripped to ASCII:
// strings.ToUpper of ASCII is a-z to A-Z, unicode.IsSpace of ASCII is
// asciiSpace, and gsm7ASCII says which bytes are GSM-7.
func approvalTextASCII(name []byte) string {
	var b strings.Builder
	b.Grow(len(approvalTextHead) + len(name) + len(approvalTextTail))
	b.WriteString(approvalTextHead)
	space := false // a space is owed before the next kept byte
	wrote := false
	for _, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if asciiSpace(c) {
			space = wrote
			continue
		}
		if gsm7ASCII[c] == 0xFF {
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
		wrote = true
	}
	if !wrote {
		return approvalTextNoName
	}
	b.WriteString(approvalTextTail)
	return b.String()
}

// asciiSpace reports whether c is one of the ASCII characters
// unicode.IsSpace reports: \t \n \v \f \r and space.
func asciiSpace(c byte) bool {
	return c == ' ' || '\t' <= c && c <= '\r'
}

// SplitApprovalText returns what lies between the approval template's
// fixed head and tail in text (the name), when text has both. With
// JoinApprovalText it lets storage keep an approval SMS as its name
// alone: the template's head and tail are therefore part of the stored
// format; records written with them must still join to the same text
// (core/store's golden record test checks).
func SplitApprovalText(text string) (name string, ok bool) {
	if len(text) < len(approvalTextHead)+len(approvalTextTail) {
		return "", false
	}
	rest, ok := strings.CutPrefix(text, approvalTextHead)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, approvalTextTail)
}

// JoinApprovalText is SplitApprovalText's inverse: the template around name.
func JoinApprovalText(name string) string {
	return approvalTextHead + name + approvalTextTail
}
