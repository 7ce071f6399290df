package core

import (
	"hash/fnv"
	"strings"
	"testing"
	"time"
)

// concatRef must stay hash/fnv's FNV-1a: references of messages already
// queued were computed with it.
func TestConcatRefIsFNV1a(t *testing.T) {
	now := time.Now()
	for i := 0; i < 1000; i++ {
		id := NewID(now)
		if i%7 == 0 {
			id = strings.Repeat("é", i%13)
		}
		h := fnv.New32a()
		h.Write([]byte(id))
		if got, want := concatRef(id), uint8(h.Sum32()); got != want {
			t.Fatalf("concatRef(%q) = %d, want %d", id, got, want)
		}
	}
}

// newMessage counts parts without encoding: the count and the refusals
// must be EncodeText's.
func TestNewMessagePartsMatchEncodeText(t *testing.T) {
	router, err := NewRouter(DefaultPrefixes(), OperatorViettel)
	if err != nil {
		t.Fatal(err)
	}
	s := &MessageService{router: router, sender: "VneID", now: time.Now}
	texts := []string{
		"a", "Xin chào", strings.Repeat("x", 160), strings.Repeat("x", 161), strings.Repeat("€", 80), strings.Repeat("{", 153),
		strings.Repeat("a", 152) + "[", strings.Repeat("中", 70), strings.Repeat("中", 71), strings.Repeat("😀", 40),
		strings.Repeat("x", 153*10), strings.Repeat("x", 153*10+1), strings.Repeat("中", 67*10+1), ApprovalText("Nguyễn Văn An"),
	}
	for _, text := range texts {
		m, err := s.newMessage(KindNotice, "84912345678", text, time.Now())
		enc, encErr := EncodeText(PrepareText(text), 1)
		if ErrorCode(err) != ErrorCode(encErr) || (err != nil) != (encErr != nil) {
			t.Fatalf("%.20q: newMessage err %v, EncodeText err %v", text, err, encErr)
		}
		if err != nil {
			if ErrorMessage(err) != ErrorMessage(encErr) {
				t.Fatalf("%.20q: %q vs %q", text, ErrorMessage(err), ErrorMessage(encErr))
			}
			continue
		}
		if len(m.Parts) != len(enc.Parts) {
			t.Fatalf("%.20q: %d parts, EncodeText makes %d", text, len(m.Parts), len(enc.Parts))
		}
	}
}
