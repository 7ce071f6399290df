package core

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidatePassword(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want string // "" valid, else a fragment of the message
	}{
		{"Abcdef1!", ""},
		{"Xy7#k2mN9!pQ3&rS5*tU", ""}, // 20
		{"Abcde1!", "8 to 20"},
		{"Abcdefghij1!Abcdefghi", "8 to 20"}, // 21
		{"abcdefg1!", "an upper-case letter"},
		{"ABCDEFG1!", "a lower-case letter"},
		{"Abcdefgh!", "a digit"},
		{"Abcdefgh1", "a special character"},
		{"abcdefgh", "a digit, an upper-case letter, a special character"},
		{"Abc def1!", "no spaces"},
		{"Mậtkhẩu1!", "no spaces or accents"},
		{"", "8 to 20"},
	} {
		err := ValidatePassword(tc.pw)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.pw, err)
			}
			continue
		}
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want EINVALID with %q", tc.pw, err, tc.want)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		pw, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidatePassword(pw); err != nil {
			t.Fatalf("%q breaks the policy: %v", pw, err)
		}
		if !IsGSM7(pw) || strings.ContainsAny(pw, "0O1lI@") {
			t.Fatalf("%q: not SMS-safe or has look-alikes", pw)
		}
		if seen[pw] {
			t.Fatalf("repeat %q", pw)
		}
		seen[pw] = true
	}
	if txt := GeneratedPasswordText("Ab3#Ab3#Ab3#"); !IsGSM7(txt) || len(txt) > 160 {
		t.Errorf("password SMS not one GSM-7 segment: %d %q", len(txt), txt)
	}
	if txt := LockNoticeText(); !IsGSM7(txt) || len(txt) > 160 {
		t.Errorf("lock SMS not one GSM-7 segment: %d", len(txt))
	}
}

func TestValidatePasscode(t *testing.T) {
	const dob = "1985-03-15"
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"294716", true},
		{"150386", true}, // DDMMYY would be 150385
		{"000000", false}, {"999999", false}, {"777777", false},
		{"123456", false}, {"234567", false}, {"567890", false}, {"890123", false}, // ascending runs (wrapping)
		{"654321", false}, {"987654", false}, {"210987", false}, // descending runs
		{"121212", false}, {"909090", false}, {"123123", false}, {"583583", false}, // repeats
		{"150385", false}, // DDMMYY
		{"850315", false}, // YYMMDD
		{"031585", false}, // MMDDYY
		{"198503", false}, // YYYYMM
		{"031985", false}, // MMYYYY (last six of DDMMYYYY)
		{"150319", false}, // first six of DDMMYYYY
		{"12345", false}, {"1234567", false}, {"12a456", false}, {"", false}, {"١٢٣٤٥٦", false},
	} {
		err := ValidatePasscode(tc.code, dob)
		if tc.ok != (err == nil) {
			t.Errorf("%q: ok=%v, err %v", tc.code, tc.ok, err)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("%q: code %s", tc.code, ErrorCode(err))
		}
	}
	if err := ValidatePasscode("150385", "bad-date"); err != nil {
		t.Errorf("unknown birth date should only skip that rule: %v", err)
	}
}

func TestSecurityQuestions(t *testing.T) {
	qs := SecurityQuestions()
	numeric, ids := 0, map[int]bool{}
	for _, q := range qs {
		if ids[q.ID] {
			t.Fatalf("duplicate id %d", q.ID)
		}
		ids[q.ID] = true
		if q.Numeric {
			numeric++
		}
		if !IsGSM7(q.Text) || len(q.Text) > 60 {
			t.Errorf("question %d does not fit a USSD line: %q", q.ID, q.Text)
		}
	}
	if numeric < 8 || len(qs) == numeric {
		t.Fatalf("want ≥8 numeric and some text questions, got %d of %d", numeric, len(qs))
	}
	qs[0].Text = "changed"
	if SecurityQuestions()[0].Text == "changed" {
		t.Fatal("the list is shared mutable state")
	}
}

func TestNormalizeAnswerAndCheckQuestions(t *testing.T) {
	num, _ := SecurityQuestionByID(1)
	txt, _ := SecurityQuestionByID(9)
	for _, tc := range []struct {
		q    SecurityQuestion
		in   string
		want string
		ok   bool
	}{
		{num, "1960", "1960", true},
		{num, " 19 60 ", "1960", true},
		{num, "15.03-1960", "15031960", true},
		{num, "abc", "", false},
		{num, "", "", false},
		{num, "1234567890123", "", false},
		{txt, "  Trường   Tiểu học  ĐẠI Đồng ", "truong tieu hoc dai dong", true},
		{txt, "truong tieu hoc dai dong", "truong tieu hoc dai dong", true},
		{txt, "   ", "", false},
		{txt, strings.Repeat("a", 101), "", false},
	} {
		got, err := NormalizeAnswer(tc.q, tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("%d %q: got %q, %v", tc.q.ID, tc.in, got, err)
		}
	}
	if _, _, err := CheckQuestions(1, "1960", 1, "1962", false); ErrorCode(err) != EINVALID {
		t.Errorf("same question twice: %v", err)
	}
	if _, _, err := CheckQuestions(1, "1960", 9, "Le Loi", true); ErrorCode(err) != EINVALID {
		t.Errorf("text question over USSD: %v", err)
	}
	if _, _, err := CheckQuestions(1, "1960", 99, "1", false); ErrorCode(err) != EINVALID {
		t.Errorf("unknown question: %v", err)
	}
	if a, b, err := CheckQuestions(1, "1960", 9, "Lê Lợi", false); err != nil || a != "1960" || b != "le loi" {
		t.Errorf("good pair: %q %q %v", a, b, err)
	}
}

func testHasher() *Hasher {
	return NewHasher(Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}, []byte("pepper"), 2)
}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h := testHasher()
	enc, err := h.Hash(ctx, "password", "Abcdef1!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(enc, "Abcdef1!") {
		t.Fatalf("encoding %q", enc)
	}
	enc2, _ := h.Hash(ctx, "password", "Abcdef1!")
	if enc == enc2 {
		t.Fatal("same salt twice")
	}
	for _, tc := range []struct {
		domain, secret, enc string
		want                bool
	}{
		{"password", "Abcdef1!", enc, true},
		{"password", "Abcdef1?", enc, false},
		{"passcode", "Abcdef1!", enc, false}, // domains are separate
		{"password", "Abcdef1!", "", false},
		{"password", "Abcdef1!", "$argon2id$v=19$m=64,t=1,p=1$AAAA$AAAA", false},
	} {
		ok, err := h.Verify(ctx, tc.domain, tc.secret, tc.enc)
		if err != nil || ok != tc.want {
			t.Errorf("%s %q: %v %v", tc.domain, tc.enc, ok, err)
		}
	}
	// Another pepper does not verify: the database alone is not enough.
	other := NewHasher(Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}, []byte("other"), 2)
	if ok, _ := other.Verify(ctx, "password", "Abcdef1!", enc); ok {
		t.Fatal("verified with another pepper")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	busy := NewHasher(Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}, nil, 1)
	busy.sem <- struct{}{}
	if _, err := busy.Hash(cctx, "password", "x"); ErrorCode(err) != EUNAVAILABLE {
		t.Fatalf("cancelled while waiting: %v", err)
	}
}

// TestHasherBoundsConcurrency: never more than MaxConcurrent hashes at once.
func TestHasherBoundsConcurrency(t *testing.T) {
	h := NewHasher(Argon2Params{Time: 1, MemoryKiB: 1024, Threads: 1}, nil, 2)
	var inFlight, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case h.sem <- struct{}{}:
			case <-time.After(5 * time.Second):
				t.Error("semaphore stuck")
				return
			}
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			inFlight.Add(-1)
			<-h.sem
		}()
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Fatalf("peak %d > 2", peak.Load())
	}
}

func TestParseArgon2Hash(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", true},
		{"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", false},
		{"$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", false},
		{"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", false}, // memory bomb
		{"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", false},
		{"$argon2id$v=19$t=2,m=19456,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", false},
		{"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA", false},
		{"", false},
	} {
		_, _, _, err := ParseArgon2Hash(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("%q: %v", tc.in, err)
		}
	}
}

func FuzzParseArgon2Hash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, sum, err := ParseArgon2Hash(s)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("code %s", ErrorCode(err))
			}
			return
		}
		if p.MemoryKiB > maxArgon2MemoryKiB || p.Time > maxArgon2Time || p.Threads > maxArgon2Threads || p.Time == 0 || len(salt) < 8 || len(sum) < 16 {
			t.Fatalf("accepted out-of-bounds %+v salt %d sum %d", p, len(salt), len(sum))
		}
	})
}

func FuzzNormalizeAnswer(f *testing.F) {
	f.Add(1, "1960")
	f.Add(9, "  Trường Tiểu học ĐẠI Đồng ")
	f.Add(10, "\u0301\u00a0x")
	f.Fuzz(func(t *testing.T, id int, s string) {
		q, ok := SecurityQuestionByID(id)
		if !ok {
			return
		}
		n, err := NormalizeAnswer(q, s)
		if err != nil {
			return
		}
		again, err := NormalizeAnswer(q, n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", s, n, again, err)
		}
	})
}

// BenchmarkArgon2id measures the cost of one hash with the default
// parameters: go test -run=^$ -bench=Argon2id ./core/
func BenchmarkArgon2id(b *testing.B) {
	h := NewHasher(DefaultArgon2Params(), []byte("pepper"), 2)
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := h.Hash(ctx, "password", "Abcdef1!"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/hash")
}
