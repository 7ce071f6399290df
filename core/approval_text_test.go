package core

import (
	"strings"
	"testing"
)

func TestApprovalText(t *testing.T) {
	const head = "Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan "
	const tail = " da duoc phe duyet. De nghi truy cap ung dung VNeID hoac dia chi https://vneid.gov.vn de kich hoat tai khoan."
	tests := []struct{ name, want string }{
		{"Nguyễn Văn Đức", "NGUYEN VAN DUC"},
		{"  trần   thị\thương\n", "TRAN THI HUONG"},
		{"đặng đình Đông", "DANG DINH DONG"},
		{"Nguyễn 李 An", "NGUYEN AN"}, // non-GSM rune dropped, no double space
		{"Hồ李Xuân", "HOXUAN"},
		{"Ông Thị Ước-Ơn", "ONG THI UOC-ON"},
		{"H'Hen Niê", "H'HEN NIE"},
	}
	for _, tt := range tests {
		got := ApprovalText(tt.name)
		if want := head + tt.want + tail; got != want {
			t.Errorf("ApprovalText(%q) =\n%q\nwant\n%q", tt.name, got, want)
		}
	}
	if got, want := ApprovalText("李小龙"), strings.TrimSuffix(head, " ")+tail; got != want {
		t.Errorf("ApprovalText(no GSM name) = %q, want %q", got, want)
	}
}

// A typical name, and every name Validate accepts up to 100 characters of
// GSM-7, gives exactly two GSM-7 parts.
func TestApprovalTextTwoParts(t *testing.T) {
	names := []string{
		"Nguyễn Văn Đức",
		"Nguyễn Thị Minh Khai",
		"Tôn Nữ Thị Phương Thảo Nguyên Hạnh",
		"Lê A",
		strings.Repeat("Nguyễn ", 14) + "Vũ", // 100 characters
	}
	for _, name := range names {
		text := ApprovalText(name)
		if !IsGSM7(text) {
			t.Errorf("ApprovalText(%q) is not GSM-7", name)
		}
		coding, parts := CountParts(text)
		if coding != CodingGSM7 || parts != 2 {
			t.Errorf("ApprovalText(%q): %v in %d parts, want GSM-7 in 2", name, coding, parts)
		}
		enc, err := EncodeText(text, 3)
		if err != nil || len(enc.Parts) != 2 || enc.Coding != CodingGSM7 {
			t.Errorf("EncodeText(ApprovalText(%q)) = %v parts, %v", name, len(enc.Parts), err)
		}
	}
}

func TestSplitJoinApprovalText(t *testing.T) {
	for _, name := range []string{"Nguyễn Văn A", "Đặng Thị Ánh Tuyết", "", "  "} {
		text := ApprovalText(name)
		mid, ok := SplitApprovalText(text)
		if name == "" || name == "  " {
			if ok {
				t.Errorf("the no-name text %q split as %q", text, mid)
			}
			continue
		}
		if !ok || JoinApprovalText(mid) != text {
			t.Errorf("%q: split %q, %v; joined %q", name, mid, ok, JoinApprovalText(mid))
		}
	}
	for _, text := range []string{"", "hello", approvalTextHead, approvalTextTail, approvalTextHead + "X"} {
		if mid, ok := SplitApprovalText(text); ok {
			t.Errorf("%q split as %q", text, mid)
		}
	}
}
