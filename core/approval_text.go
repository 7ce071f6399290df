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
		// No printable name left: keep the sentence well formed.
		return approvalTextHead[:len(approvalTextHead)-1] + approvalTextTail
	}
	b.WriteString(approvalTextTail)
	return b.String()
}
