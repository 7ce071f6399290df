package core_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vneidgw/core"
	"vneidgw/core/store"
)

func TestOTPConfigChecks(t *testing.T) {
	e := newActEnv(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name string
		cfg  core.OTPConfig
	}{
		{"short key", core.OTPConfig{Key: []byte("short")}},
		{"lifetime over 10m", core.OTPConfig{Key: key, Lifetime: 11 * time.Minute}},
		{"lifetime under 1m", core.OTPConfig{Key: key, Lifetime: time.Second}},
	} {
		if _, err := core.NewOTPService(tc.cfg, e.otps, e.sms, e.audit); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	s, err := core.NewOTPService(core.OTPConfig{Key: key}, e.otps, e.sms, e.audit)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.Lifetime != 5*time.Minute || c.Cooldown != time.Minute || c.MaxAttempts != 5 || c.Key != nil {
		t.Fatalf("defaults %+v", c)
	}
}

func TestOTPIssueVerify(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	if err := e.otp.Issue(ctx, "0912345678", core.OTPAPI, "1.2.3.4"); err != nil {
		t.Fatal(err)
	}
	code := e.sms.lastCode(t, phoneA)
	for _, tc := range []struct {
		name, phone string
		purpose     core.OTPPurpose
		code, want  string
	}{
		{"bad phone", "12", core.OTPAPI, code, core.EINVALID},
		{"bad purpose", phoneA, "login", code, core.EINVALID},
		{"other purpose", phoneA, core.OTPActivation, code, core.EINVALID},
		{"other purpose 2", phoneA, core.OTPPasswordReset, code, core.EINVALID},
		{"other phone", phoneB, core.OTPAPI, code, core.EINVALID},
		{"garbage code", phoneA, core.OTPAPI, "12ab", core.EINVALID},
		{"right", "+84912345678", core.OTPAPI, code, ""},
		{"used", phoneA, core.OTPAPI, code, core.EINVALID},
	} {
		err := e.otp.Verify(ctx, tc.phone, tc.purpose, tc.code, "1.2.3.4")
		if core.ErrorCode(err) != tc.want {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// Wrong answers for a live code, a used one and a never-issued one read alike.
	a := core.ErrorMessage(e.otp.Verify(ctx, phoneA, core.OTPAPI, code, ""))
	b := core.ErrorMessage(e.otp.Verify(ctx, phoneB, core.OTPAPI, code, ""))
	if a != b || a != "invalid or expired code" {
		t.Fatalf("%q vs %q", a, b)
	}
}

func TestOTPExpiryAndResend(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); err != nil {
		t.Fatal(err)
	}
	first := e.sms.lastCode(t, phoneA)
	// Inside the cool-down a resend is refused and the code stays.
	e.clock.Add(59 * time.Second)
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatalf("resend in cool-down: %v", err)
	}
	e.clock.Add(time.Second)
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); err != nil {
		t.Fatal(err)
	}
	second := e.sms.lastCode(t, phoneA)
	if first != second {
		if err := e.otp.Verify(ctx, phoneA, core.OTPAPI, first, ""); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("replaced code still works: %v", err)
		}
	}
	e.clock.Add(5 * time.Minute) // exactly the lifetime: expired
	if err := e.otp.Verify(ctx, phoneA, core.OTPAPI, second, ""); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("expired code works: %v", err)
	}
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(5*time.Minute - time.Second)
	if err := e.otp.Verify(ctx, phoneA, core.OTPAPI, e.sms.lastCode(t, phoneA), ""); err != nil {
		t.Fatalf("code just before expiry: %v", err)
	}
}

func TestOTPBurnsAfterMaxAttempts(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); err != nil {
		t.Fatal(err)
	}
	code := e.sms.lastCode(t, phoneA)
	for i := 0; i < 5; i++ {
		if err := e.otp.Verify(ctx, phoneA, core.OTPAPI, wrongCode(code), ""); core.ErrorCode(err) != core.EINVALID {
			t.Fatal(err)
		}
	}
	if err := e.otp.Verify(ctx, phoneA, core.OTPAPI, code, ""); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("burned code works: %v", err)
	}
	if n := e.auditCount(t, core.AuditOTPVerify, core.OutcomeMismatch); n != 5 {
		t.Fatalf("mismatches %d", n)
	}
	// The burned record still holds the cool-down.
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatalf("resend after burn inside cool-down: %v", err)
	}
}

func TestOTPDailyCaps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    func(*core.OTPConfig)
		phone  func(i int) string
		client func(i int) string
		want   int // codes sent before the cap
	}{
		{"per phone", func(c *core.OTPConfig) { c.DailyPerPhone = 3 }, func(int) string { return phoneA }, func(i int) string { return fmt.Sprint("10.0.0.", i) }, 3},
		{"per client", func(c *core.OTPConfig) { c.DailyPerClient = 4 }, func(i int) string { return fmt.Sprintf("849%08d", 10000000+i) }, func(int) string { return "10.9.9.9" }, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newActEnv(t, func(o *core.OTPConfig, _ *core.ActivationConfig) { tc.cfg(o) })
			ctx := context.Background()
			sent := 0
			for i := 0; i < 10; i++ {
				err := e.otp.Issue(ctx, tc.phone(i), core.OTPAPI, tc.client(i))
				switch core.ErrorCode(err) {
				case "":
					sent++
				case core.ERATELIMIT:
				default:
					t.Fatal(err)
				}
				e.clock.Add(61 * time.Second)
			}
			if sent != tc.want || len(e.sms.all()) != tc.want {
				t.Fatalf("sent %d (%d texts), want %d", sent, len(e.sms.all()), tc.want)
			}
			// Caps reset the next day (Vietnam time).
			e.clock.Add(24 * time.Hour)
			if err := e.otp.Issue(ctx, tc.phone(0), core.OTPAPI, tc.client(0)); err != nil {
				t.Fatalf("next day: %v", err)
			}
		})
	}
	t.Run("per id number", func(t *testing.T) {
		e := newActEnv(t, func(o *core.OTPConfig, _ *core.ActivationConfig) { o.DailyPerIDNumber = 2 })
		ctx := context.Background()
		e.addApp(t, idA, phoneA)
		// Unknown pairs count against the ID number too: the cap does not
		// tell whether the ID exists.
		var codes []string
		for i := 0; i < 4; i++ {
			err := e.svc.Start(ctx, idA, fmt.Sprintf("849%08d", 20000000+i), fmt.Sprint("10.1.1.", i))
			codes = append(codes, core.ErrorCode(err))
		}
		if strings.Join(codes, ",") != ",,rate_limited,rate_limited" {
			t.Fatalf("answers %v", codes)
		}
	})
}

// TestOTPSMSFailureFreesTheCoolDown: a code whose SMS could not be queued
// does not hold the cool-down, on both paths: the store that queues the SMS
// in the record's write (nothing written), and a plain OTP store (the
// record is dropped again).
func TestOTPSMSFailureFreesTheCoolDown(t *testing.T) {
	e := newActEnv(t)
	cfg := e.otp.Config()
	cfg.Key = []byte("0123456789abcdef0123456789abcdef") // newActEnv's
	plain, err := core.NewOTPService(cfg, store.NewOTPStore(e.db), smsOnly{e.sms}, e.audit)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, svc := range map[string]*core.OTPService{"one write": e.otp, "plain store": plain} {
		e.sms.fail = true
		if err := svc.Issue(ctx, phoneA, core.OTPAPI, ""); core.ErrorCode(err) != core.EUNAVAILABLE {
			t.Fatalf("%s: %v", name, err)
		}
		e.sms.fail = false
		if err := svc.Issue(ctx, phoneA, core.OTPAPI, ""); err != nil {
			t.Fatalf("%s: retry after a failed send: %v", name, err)
		}
		e.clock.Add(time.Minute)
	}
	if n := len(e.sms.all()); n != 2 {
		t.Fatalf("%d texts sent, want 2", n)
	}
}

// smsOnly hides fakeSMS's OTPMessageBuilder: the service then queues the
// SMS itself, after the record.
type smsOnly struct{ *fakeSMS }

func (s smsOnly) SubmitOTPText(ctx context.Context, phone, text string, validity time.Duration) (core.AcceptResult, error) {
	return s.fakeSMS.SubmitOTPText(ctx, phone, text, validity)
}

func (s smsOnly) SubmitSystemNotice(ctx context.Context, phone, text string) (core.AcceptResult, error) {
	return s.fakeSMS.SubmitSystemNotice(ctx, phone, text)
}

// TestOTPConcurrentGuesses: many concurrent wrong guesses on one code are
// counted exactly (MaxAttempts compared, the rest find no live code), and
// of many concurrent right answers exactly one wins.
func TestOTPConcurrentGuesses(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); err != nil {
		t.Fatal(err)
	}
	code := e.sms.lastCode(t, phoneA)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = e.otp.Verify(ctx, phoneA, core.OTPAPI, wrongCode(code), "")
		}()
	}
	wg.Wait()
	if n := e.auditCount(t, core.AuditOTPVerify, core.OutcomeMismatch); n != 5 {
		t.Fatalf("%d guesses compared, want 5", n)
	}
	if n := e.auditCount(t, core.AuditOTPVerify, core.OutcomeNoCode); n != 35 {
		t.Fatalf("%d refused without a code, want 35", n)
	}

	e.clock.Add(time.Minute)
	if err := e.otp.Issue(ctx, phoneA, core.OTPAPI, ""); err != nil {
		t.Fatal(err)
	}
	code = e.sms.lastCode(t, phoneA)
	var ok atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e.otp.Verify(ctx, phoneA, core.OTPAPI, code, "") == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d successes for one code", ok.Load())
	}
}

// TestOTPBruteForceDay: an attacker who for a whole simulated day requests
// a code for one phone whenever allowed and guesses as fast as it likes
// gets at most DailyPerPhone × MaxAttempts guesses compared to a live
// code: 5 × 5 = 25 per day per purpose. With codes uniform over 10^6 the
// chance of a hit in a day is at most 25 / 10^6 = 2.5·10⁻⁵ per purpose
// (three purposes: ≤ 7.5·10⁻⁵), about one success in 110 years of daily
// attempts.
func TestOTPBruteForceDay(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	cfg := e.otp.Config()
	rng := mrand.New(mrand.NewPCG(1, 2))
	end := e.clock.Now().Add(24 * time.Hour)
	// Start at local midnight so the day is one cap window.
	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	e.clock.t = start
	end = start.Add(24*time.Hour - time.Second)
	requests, issued, guesses := 0, 0, 0
	for e.clock.Now().Before(end) {
		requests++
		before := len(e.sms.all())
		_ = e.otp.Issue(ctx, phoneA, core.OTPAPI, fmt.Sprint("198.51.100.", requests%250)) // rotating addresses
		if len(e.sms.all()) > before {
			issued++
		}
		var real string
		if issued > 0 {
			real = e.sms.lastCode(t, phoneA)
		}
		for g := 0; g < 6; g++ {
			guess := fmt.Sprintf("%06d", rng.IntN(1_000_000))
			if guess == real {
				continue // count only misses; the bound is what matters
			}
			guesses++
			if err := e.otp.Verify(ctx, phoneA, core.OTPAPI, guess, ""); err == nil {
				t.Fatal("a wrong guess verified")
			}
		}
		e.clock.Add(cfg.Cooldown)
	}
	compared := e.auditCount(t, core.AuditOTPVerify, core.OutcomeMismatch)
	maxCompared := cfg.DailyPerPhone * cfg.MaxAttempts
	t.Logf("requests %d, codes sent %d, guesses %d, compared to a live code %d (cap %d), P(success) ≤ %.1e",
		requests, issued, guesses, compared, maxCompared, float64(compared)/1e6)
	if issued != cfg.DailyPerPhone {
		t.Fatalf("%d codes sent in a day, cap %d", issued, cfg.DailyPerPhone)
	}
	if compared > maxCompared {
		t.Fatalf("%d guesses compared, cap %d", compared, maxCompared)
	}
	if p := float64(compared) / 1e6; p > 2.5e-5 {
		t.Fatalf("success bound %g", p)
	}
}

// BenchmarkOTPIssueVerify issues and verifies codes through the service
// with Badger on a temporary directory (every issue is a new phone, so no
// cool-down): go test -run=^$ -bench=OTPIssueVerify ./core/
func BenchmarkOTPIssueVerify(b *testing.B) {
	e := newActEnv(b, func(o *core.OTPConfig, _ *core.ActivationConfig) {
		o.DailyPerPhone, o.DailyPerClient = 1<<30, 1<<30
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		phone := fmt.Sprintf("849%08d", i%100_000_000)
		if err := e.otp.Issue(ctx, phone, core.OTPAPI, "10.0.0.1"); err != nil {
			b.Fatal(err)
		}
		e.sms.mu.Lock()
		e.sms.syncLocked()
		last := e.sms.sent[len(e.sms.sent)-1]
		e.sms.sent = e.sms.sent[:0]
		e.sms.mu.Unlock()
		if err := e.otp.Verify(ctx, phone, core.OTPAPI, codeRe.FindStringSubmatch(last.text)[1], "10.0.0.1"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "issue+verify/s")
}
