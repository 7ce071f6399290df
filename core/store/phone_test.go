package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vneidgw/core"
)

func TestMessagesByPhonePaging(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var reqs []core.AcceptRequest
	for i := 0; i < 23; i++ {
		m := newMessage(fmt.Sprintf("ph%02d", i), "viettel", core.KindNotice, 1)
		m.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		reqs = append(reqs, core.AcceptRequest{Message: m})
	}
	other := newMessage("elsewhere", "viettel", core.KindNotice, 1)
	other.To = "84987654321"
	reqs = append(reqs, core.AcceptRequest{Message: other})
	mustAccept(t, s, reqs)

	var got []string
	cursor := ""
	pages := 0
	for {
		ms, next, err := s.MessagesByPhone(ctx, "84912345678", cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range ms {
			got = append(got, m.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 || len(got) != 23 {
		t.Fatalf("pages %d got %d", pages, len(got))
	}
	for i, id := range got {
		if want := fmt.Sprintf("ph%02d", 22-i); id != want {
			t.Fatalf("position %d: %s want %s", i, id, want)
		}
	}
	// Exactly one full page: no next.
	ms, next, err := s.MessagesByPhone(ctx, "84987654321", "", 1)
	if err != nil || len(ms) != 1 || next != "" {
		t.Fatalf("%v %q %v", ids(ms), next, err)
	}
	for _, bad := range []string{"!!", "AAAA"} {
		if _, _, err := s.MessagesByPhone(ctx, "84912345678", bad, 10); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("cursor %q: %v", bad, err)
		}
	}
}
