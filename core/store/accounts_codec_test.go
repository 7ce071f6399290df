package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"vneidgw/core"
)

// jsonTestStrings exercise every escaping rule of encoding/json.
var jsonTestStrings = []string{
	"", "plain", "Nguyễn Văn Đức", `quote " backslash \ slash /`, "<script>&amp;</script>", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "line\u2028para\u2029", "bad \xff utf8 \xc3", "emoji 😀", "\ufffd", "$argon2id$v=19$m=65536,t=3,p=2$abc$def",
}

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return jsonTestStrings[r.IntN(len(jsonTestStrings))]
	}
	n := r.IntN(12)
	b := make([]byte, 0, n*3)
	for i := 0; i < n; i++ {
		switch r.IntN(4) {
		case 0:
			b = append(b, byte(r.IntN(128)))
		case 1:
			b = append(b, byte(r.IntN(256)))
		default:
			b = utf8.AppendRune(b, rune(r.IntN(0x10FFFF)))
		}
	}
	return string(b)
}

func randTime(r *rand.Rand) time.Time {
	switch r.IntN(6) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(1+r.IntN(9998), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), 0, time.UTC)
	case 2:
		return time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(time.FixedZone("x", (r.IntN(48)-24)*1800))
	case 3:
		return time.Date(10000+r.IntN(10), 1, 1, 0, 0, 0, 0, time.UTC) // MarshalJSON refuses
	case 4:
		return time.Unix(r.Int64N(4e9), 0).In(time.FixedZone("far", 25*3600)) // MarshalJSON refuses
	}
	return time.Now()
}

// TestEncodeAccountIsJSONMarshal: records are read back with json.Unmarshal
// and older records were written by json.Marshal, so the fast encoder
// must write the same bytes (and fail where it fails).
func TestEncodeAccountIsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a := &core.Account{IDNumber: randString(r), Phone: randString(r), ApplicationID: randString(r), FullName: randString(r),
			DateOfBirth: randString(r), Sex: core.Sex(randString(r)), Level: r.IntN(2000) - 1000, State: core.AccountState(randString(r)),
			CreatedAt: randTime(r), UpdatedAt: randTime(r), ActivatedAt: randTime(r), LockedAt: randTime(r)}
		if r.IntN(2) == 0 {
			a.PasswordHash, a.PasscodeHash = randString(r), randString(r)
		}
		for j := r.IntN(3); j > 0; j-- {
			a.Questions = append(a.Questions, core.SecurityAnswer{QuestionID: r.IntN(100) - 5, AnswerHash: randString(r)})
		}
		if r.IntN(5) == 0 {
			a.Questions = []core.SecurityAnswer{} // empty, omitted like nil
		}
		want, werr := json.Marshal(a)
		got, gerr := encodeAccount(a)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("account %+v:\n got %s (%v)\nwant %s (%v)", a, got, gerr, want, werr)
		}
	}
}

func TestEncodeAuditEventIsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		ev := core.AuditEvent{ID: randString(r), At: randTime(r), Actor: randString(r), Channel: core.Channel(randString(r)),
			Action: randString(r), Subject: randString(r), Outcome: randString(r)}
		if r.IntN(2) == 0 {
			ev.Client, ev.Detail = randString(r), randString(r)
		}
		want, werr := json.Marshal(ev)
		got, gerr := encodeAuditEvent(&ev)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("event %+v:\n got %s (%v)\nwant %s (%v)", ev, got, gerr, want, werr)
		}
	}
}

// RecordBatch assigns the IDs it stores under, in the records too, without
// writing to the caller's slice.
func TestAuditRecordBatchAssignsIDs(t *testing.T) {
	l := NewAuditLog(actOpenDB(t))
	ctx := t.Context()
	at := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	evs := []core.AuditEvent{{At: at, Action: "a", Outcome: "1"}, {At: at, Action: "b", Outcome: "2"}, {ID: "fixed", At: at, Action: "c"}}
	if err := l.RecordBatch(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if evs[0].ID != "" || evs[1].ID != "" {
		t.Fatal("RecordBatch wrote to the caller's events")
	}
	got, _, err := l.Events(ctx, "", 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("%+v %v", got, err)
	}
	seen := map[string]bool{}
	for _, ev := range got {
		if ev.ID == "" || seen[ev.ID] {
			t.Fatalf("ids %+v", got)
		}
		seen[ev.ID] = true
		if ev.Action == "c" && ev.ID != "fixed" {
			t.Fatalf("given id replaced: %+v", ev)
		}
	}
	// Paging one by one walks the batch (one stored group) once each.
	paged := map[string]bool{}
	for cursor := ""; ; {
		page, next, err := l.Events(ctx, cursor, 1)
		if err != nil || len(page) != 1 || paged[page[0].ID] || !seen[page[0].ID] {
			t.Fatalf("%+v %q %v (paged %v)", page, next, err, paged)
		}
		paged[page[0].ID] = true
		if next == "" {
			break
		}
		cursor = next
	}
	if len(paged) != 3 {
		t.Fatalf("paged %v", paged)
	}
}
