package core_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/core/store"
)

// fakeClock is a settable clock for expiry, cool-downs and daily caps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeSMS records the texts it is asked to send. As a core.OTPMessageBuilder
// it builds OTP messages that the store queues itself (OTPSMSIssuer): a
// built message counts as sent once it is in the store (st).
type fakeSMS struct {
	mu      sync.Mutex
	sent    []sentSMS
	fail    bool
	calls   int
	st      *store.Store
	pending []pendingSMS
}

type pendingSMS struct {
	id string
	s  sentSMS
}

func (f *fakeSMS) NewOTPMessage(phone, text string, validity time.Duration) (*core.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return nil, core.Errorf(core.EUNAVAILABLE, "queue down")
	}
	m := &core.Message{ID: core.NewID(time.Now()), Kind: core.KindOTP, Priority: core.PriorityOTP,
		To: phone, Text: text, Operator: "viettel", Validity: validity}
	f.pending = append(f.pending, pendingSMS{m.ID, sentSMS{phone, text, validity, true}})
	return m, nil
}

// syncLocked moves the built messages the store has accepted to sent and
// forgets the others: the issue that built them has returned (tests read
// what was sent after their issues), so they will never be stored.
func (f *fakeSMS) syncLocked() {
	for _, p := range f.pending {
		if _, err := f.st.Message(context.Background(), p.id); err == nil {
			f.sent = append(f.sent, p.s)
		}
	}
	f.pending = f.pending[:0]
}

type sentSMS struct {
	phone, text string
	validity    time.Duration
	otp         bool
}

func (f *fakeSMS) SubmitOTPText(_ context.Context, phone, text string, validity time.Duration) (core.AcceptResult, error) {
	return f.add(sentSMS{phone, text, validity, true})
}

func (f *fakeSMS) SubmitSystemNotice(_ context.Context, phone, text string) (core.AcceptResult, error) {
	return f.add(sentSMS{phone, text, 0, false})
}

func (f *fakeSMS) add(s sentSMS) (core.AcceptResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return core.AcceptResult{}, core.Errorf(core.EUNAVAILABLE, "queue down")
	}
	f.sent = append(f.sent, s)
	return core.AcceptResult{MessageID: "m"}, nil
}

func (f *fakeSMS) all() []sentSMS {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncLocked()
	return append([]sentSMS(nil), f.sent...)
}

var codeRe = regexp.MustCompile(`la (\d{6}),`)

// lastCode returns the code of the last OTP text sent to phone.
func (f *fakeSMS) lastCode(t testing.TB, phone string) string {
	t.Helper()
	all := f.all()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].otp && all[i].phone == phone {
			return codeRe.FindStringSubmatch(all[i].text)[1]
		}
	}
	t.Fatalf("no code sent to %s", phone)
	return ""
}

var pwRe = regexp.MustCompile(`la (\S+) \.`)

func (f *fakeSMS) lastPassword(t testing.TB, phone string) string {
	t.Helper()
	all := f.all()
	for i := len(all) - 1; i >= 0; i-- {
		if !all[i].otp && all[i].phone == phone {
			if m := pwRe.FindStringSubmatch(all[i].text); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no password sent to %s", phone)
	return ""
}

type actEnv struct {
	st       *store.Store
	db       *badger.DB
	clock    *fakeClock
	sms      *fakeSMS
	otp      *core.OTPService
	svc      *core.ActivationService
	accounts *store.AccountStore
	audit    *store.AuditLog
	outbox   *store.AccountEventOutbox
	otps     *store.OTPQueueStore
}

// openActStore opens the message store whose database the activation
// stores share, as in production.
func openActStore(t testing.TB) *store.Store {
	t.Helper()
	cfg := store.DefaultConfig(t.TempDir())
	cfg.GCInterval, cfg.TrimInterval = -1, -1
	st, err := store.Open(cfg, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type actEnvOpt func(*core.OTPConfig, *core.ActivationConfig)

func newActEnv(t testing.TB, opts ...actEnvOpt) *actEnv {
	t.Helper()
	st := openActStore(t)
	e := &actEnv{st: st, db: st.DB(), clock: &fakeClock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}, sms: &fakeSMS{st: st}}
	e.accounts = st.AccountStore()
	e.audit = store.NewAuditLog(e.db)
	e.outbox = store.NewAccountEventOutbox(e.db)
	e.otps = st.OTPStore()
	ocfg := core.DefaultOTPConfig()
	ocfg.Key = []byte("0123456789abcdef0123456789abcdef")
	ocfg.Now = e.clock.Now
	ocfg.MinDuration = 0
	acfg := core.ActivationConfig{
		Accounts: e.accounts, Throttles: e.accounts, Audit: e.audit, SMS: e.sms,
		Hasher: core.NewHasher(core.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}, []byte("pepper"), 4),
		Now:    e.clock.Now, MinDuration: -1, Log: zerolog.Nop(),
	}
	for _, o := range opts {
		o(&ocfg, &acfg)
	}
	var err error
	if e.otp, err = core.NewOTPService(ocfg, e.otps, e.sms, e.audit); err != nil {
		t.Fatal(err)
	}
	acfg.OTP = e.otp
	if e.svc, err = core.NewActivationService(acfg); err != nil {
		t.Fatal(err)
	}
	return e
}

const (
	idA    = "001085012345"
	phoneA = "84912345678"
	idB    = "079190000123"
	phoneB = "84987654321"
	goodPw = "Abcdef1!"
)

func (e *actEnv) addApp(t testing.TB, id, phone string) {
	t.Helper()
	app := &core.Application{ApplicationID: "app-" + id, IDNumber: id, FullName: "Nguyễn Văn A",
		DateOfBirth: "1985-03-15", Sex: core.SexMale, Phone: phone, Level: 2}
	if err := e.svc.CreateFromApplication(context.Background(), app); err != nil {
		t.Fatal(err)
	}
}

func (e *actEnv) state(t testing.TB, id string) core.AccountState {
	t.Helper()
	s, err := e.svc.AccountState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// activateWeb runs the whole web activation for (id, phone).
func (e *actEnv) activateWeb(t testing.TB, id, phone string) {
	t.Helper()
	ctx := context.Background()
	if err := e.svc.Start(ctx, id, phone, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.VerifyOTP(ctx, id, phone, e.sms.lastCode(t, phone), "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Complete(ctx, tok, goodPw, "294716", 1, "1960", 9, "Lê Lợi"); err != nil {
		t.Fatal(err)
	}
}

func (e *actEnv) auditCount(t testing.TB, action, outcome string) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		evs, next, err := e.audit.Events(context.Background(), cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Action == action && ev.Outcome == outcome {
				n++
			}
		}
		if next == "" {
			return n
		}
		cursor = next
	}
}

func (e *actEnv) events(t testing.TB) []core.AccountEvent {
	t.Helper()
	evs, err := e.outbox.Pending(context.Background(), e.clock.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCreateFromApplication(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.addApp(t, idA, phoneA) // idempotent
	if s := e.state(t, idA); s != core.AccountPending {
		t.Fatalf("state %s", s)
	}
	for _, tc := range []struct {
		id, phone, code string
	}{
		{idB, phoneA, core.ECONFLICT},    // one phone, one account
		{idA, phoneB, core.ECONFLICT},    // the ID number's account has another phone
		{"12345", phoneB, core.EINVALID}, // malformed ID
		{idB, "12345", core.EINVALID},    // malformed phone
		{idB, "0987654321", ""},          // national form normalised
	} {
		err := e.svc.CreateFromApplication(ctx, &core.Application{ApplicationID: "x", IDNumber: tc.id, Phone: tc.phone, DateOfBirth: "1990-01-01"})
		if core.ErrorCode(err) != tc.code {
			t.Errorf("%s %s: %v, want %q", tc.id, tc.phone, err, tc.code)
		}
	}
	if _, err := e.svc.AccountState(ctx, "001085099999"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := e.svc.AccountState(ctx, "abc"); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("malformed: %v", err)
	}
}

func TestWebActivationJourney(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	if err := e.svc.Start(ctx, idA, "0912345678", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	sent := e.sms.all()
	if len(sent) != 1 || !sent[0].otp || sent[0].validity != 5*time.Minute || sent[0].phone != phoneA {
		t.Fatalf("sent %+v", sent)
	}
	if txt := sent[0].text; !core.IsGSM7(txt) || len(txt) > 160 || !strings.Contains(txt, "hieu luc 5 phut") || !strings.Contains(txt, "KHONG cung cap") {
		t.Fatalf("OTP text %q", txt)
	}
	code := e.sms.lastCode(t, phoneA)
	if _, err := e.svc.VerifyOTP(ctx, idA, phoneA, wrongCode(code), "10.0.0.1"); core.ErrorCode(err) != core.EINVALID || core.ErrorMessage(err) != "invalid or expired code" {
		t.Fatalf("wrong code: %v", err)
	}
	tok, err := e.svc.VerifyOTP(ctx, idA, phoneA, code, "10.0.0.1")
	if err != nil || len(tok) < 40 {
		t.Fatalf("verify: %q %v", tok, err)
	}
	if _, err := e.svc.VerifyOTP(ctx, idA, phoneA, code, "10.0.0.1"); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("code reused: %v", err)
	}
	// Bad credentials leave the token usable.
	for _, tc := range []struct {
		pw, pc string
		q1     int
		a1     string
		q2     int
		a2     string
	}{
		{"short", "294716", 1, "1960", 9, "x"},
		{goodPw, "123456", 1, "1960", 9, "x"},
		{goodPw, "150385", 1, "1960", 9, "x"}, // birth date
		{goodPw, "294716", 1, "1960", 1, "1960"},
		{goodPw, "294716", 1, "nineteen", 9, "x"},
	} {
		if err := e.svc.Complete(ctx, tok, tc.pw, tc.pc, tc.q1, tc.a1, tc.q2, tc.a2); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("%+v: %v", tc, err)
		}
	}
	if err := e.svc.Complete(ctx, "forged", goodPw, "294716", 1, "1960", 9, "x"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("forged token: %v", err)
	}
	if err := e.svc.Complete(ctx, tok, goodPw, "294716", 1, "1960", 9, "Lê Lợi"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Complete(ctx, tok, goodPw, "294716", 1, "1960", 9, "Lê Lợi"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("token reused: %v", err)
	}
	if s := e.state(t, idA); s != core.AccountActive {
		t.Fatalf("state %s", s)
	}
	acct, _ := e.accounts.Account(ctx, idA)
	if strings.Contains(acct.PasswordHash, goodPw) || !strings.HasPrefix(acct.PasscodeHash, "$argon2id$") || len(acct.Questions) != 2 ||
		strings.Contains(acct.Questions[1].AnswerHash, "le loi") {
		t.Fatalf("credentials stored %+v", acct)
	}
	evs := e.events(t)
	if len(evs) != 1 || evs[0].Type != core.EventActivated || evs[0].IDNumber != idA || evs[0].State != core.AccountActive {
		t.Fatalf("events %+v", evs)
	}
	if res, err := e.svc.Login(ctx, idA, goodPw, "10.0.0.1"); err != nil || res.MustChangePassword {
		t.Fatalf("login %+v %v", res, err)
	}
	// Activating again: the code goes to the phone's holder, who alone
	// learns that the account is active.
	e.clock.Add(2 * time.Minute)
	if err := e.svc.Start(ctx, idA, phoneA, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.VerifyOTP(ctx, idA, phoneA, e.sms.lastCode(t, phoneA), "10.0.0.1")
	if core.ErrorCode(err) != core.ECONFLICT || core.ErrorMessage(err) != "Tài khoản của bạn đã thực hiện kích hoạt" {
		t.Fatalf("already active: %v", err)
	}
	if e.auditCount(t, core.AuditActivate, core.OutcomeOK) != 1 {
		t.Fatal("activation not audited")
	}
}

func wrongCode(code string) string {
	b := []byte(code)
	b[5] = '0' + (b[5]-'0'+1)%10
	return string(b)
}

func TestTokenExpires(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	if err := e.svc.Start(ctx, idA, phoneA, ""); err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.VerifyOTP(ctx, idA, phoneA, e.sms.lastCode(t, phoneA), "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(11 * time.Minute)
	if err := e.svc.Complete(ctx, tok, goodPw, "294716", 1, "1960", 9, "x"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("expired token: %v", err)
	}
}

func TestUSSDActivation(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.addApp(t, idB, phoneB)
	// Unknown ID and another phone's ID read the same.
	errUnknown := e.svc.ActivateByUSSD(ctx, phoneA, "001085099999", "294716", 1, "1960", 2, "1958")
	errOther := e.svc.ActivateByUSSD(ctx, phoneA, idB, "294716", 1, "1960", 2, "1958")
	if core.ErrorCode(errUnknown) != core.ENOTFOUND || errUnknown.Error() != errOther.Error() {
		t.Fatalf("unknown %v / other %v", errUnknown, errOther)
	}
	for _, tc := range []struct {
		pc     string
		q1, q2 int
		a1     string
	}{
		{"111111", 1, 2, "1960"},
		{"294716", 1, 9, "1960"}, // text question over USSD
		{"294716", 1, 1, "1960"},
		{"294716", 1, 2, "x"},
	} {
		if err := e.svc.ActivateByUSSD(ctx, phoneA, idA, tc.pc, tc.q1, tc.a1, tc.q2, "1958"); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("%+v: %v", tc, err)
		}
	}
	if err := e.svc.ActivateByUSSD(ctx, "0912345678", idA, "294716", 1, "1960", 2, "1958"); err != nil {
		t.Fatal(err)
	}
	if s := e.state(t, idA); s != core.AccountPasswordChangeRequired {
		t.Fatalf("state %s", s)
	}
	pw := e.sms.lastPassword(t, phoneA)
	if err := core.ValidatePassword(pw); err != nil {
		t.Fatalf("generated %q: %v", pw, err)
	}
	if err := e.svc.ActivateByUSSD(ctx, phoneA, idA, "294716", 1, "1960", 2, "1958"); core.ErrorMessage(err) != core.MsgAlreadyActivated {
		t.Fatalf("again: %v", err)
	}
	res, err := e.svc.Login(ctx, idA, pw, "10.0.0.2")
	if err != nil || !res.MustChangePassword {
		t.Fatalf("first login %+v %v", res, err)
	}
	if err := e.svc.ChangePassword(ctx, idA, pw, pw, "10.0.0.2"); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("same password: %v", err)
	}
	if err := e.svc.ChangePassword(ctx, idA, pw, "Newpass9#", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if s := e.state(t, idA); s != core.AccountActive {
		t.Fatalf("state %s", s)
	}
	if _, err := e.svc.Login(ctx, idA, pw, "10.0.0.2"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("old password: %v", err)
	}
	types := []string{}
	for _, ev := range e.events(t) {
		types = append(types, ev.Type)
	}
	if strings.Join(types, ",") != "activated,password_changed" {
		t.Fatalf("events %v", types)
	}
}

func TestUSSDDailyCap(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	var limited int
	for i := 0; i < 15; i++ {
		err := e.svc.ActivateByUSSD(ctx, phoneA, "001085099999", "294716", 1, "1960", 2, "1958")
		if core.ErrorCode(err) == core.ERATELIMIT {
			limited++
		}
	}
	if limited != 5 {
		t.Fatalf("rate limited %d of 15, want 5 (cap 10)", limited)
	}
	e.clock.Add(24 * time.Hour)
	if err := e.svc.ActivateByUSSD(ctx, phoneA, idA, "294716", 1, "1960", 2, "1958"); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.activateWeb(t, idA, phoneA)
	// Policy: 2 free failures, then 2s, 4s, then a 15 min lock at 5.
	wantWait := []time.Duration{0, 0, 2 * time.Second, 4 * time.Second, 15 * time.Minute}
	for i, w := range wantWait {
		if _, err := e.svc.Login(ctx, idA, "Wrong1!x", "10.0.0.9"); core.ErrorCode(err) != core.EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		if w == 0 {
			continue
		}
		// Even the right password is refused while throttled.
		if _, err := e.svc.Login(ctx, idA, goodPw, "10.0.0.9"); core.ErrorCode(err) != core.ERATELIMIT {
			t.Fatalf("after failure %d: %v", i+1, err)
		}
		e.clock.Add(w - time.Second)
		if _, err := e.svc.Login(ctx, idA, goodPw, "10.0.0.9"); core.ErrorCode(err) != core.ERATELIMIT {
			t.Fatalf("just before the end of wait %d: %v", i+1, err)
		}
		e.clock.Add(time.Second)
	}
	if _, err := e.svc.Login(ctx, idA, goodPw, "10.0.0.9"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// Success reset the account's counter.
	if _, err := e.svc.Login(ctx, idA, "Wrong1!x", "10.0.0.9"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, idA, goodPw, "10.0.0.9"); err != nil {
		t.Fatalf("one failure after reset: %v", err)
	}
}

func TestLoginThrottlePerClient(t *testing.T) {
	e := newActEnv(t, func(_ *core.OTPConfig, a *core.ActivationConfig) { a.Login.ClientLockAfter = 6 })
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.activateWeb(t, idA, phoneA)
	// One client spraying many ID numbers (each failing once) is locked out.
	for i := 0; i < 6; i++ {
		id := "00108509900" + string(rune('0'+i))
		if _, err := e.svc.Login(ctx, id, "Wrong1!x", "10.6.6.6"); core.ErrorCode(err) == core.ERATELIMIT {
			t.Fatalf("limited too early at %d", i)
		}
		e.clock.Add(time.Minute) // past the growing delays, not past the lock
	}
	if _, err := e.svc.Login(ctx, idA, goodPw, "10.6.6.6"); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatalf("client not locked out: %v", err)
	}
	if _, err := e.svc.Login(ctx, idA, goodPw, "10.7.7.7"); err != nil {
		t.Fatalf("another client: %v", err)
	}
}

func TestLoginUnknownAndPendingAnswerAlike(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.addApp(t, idB, phoneB)
	e.activateWeb(t, idB, phoneB)
	a := func(id, pw string) string {
		_, err := e.svc.Login(ctx, id, pw, "")
		return core.ErrorCode(err) + ":" + core.ErrorMessage(err)
	}
	unknown, pending, wrongPw := a("001085099999", goodPw), a(idA, goodPw), a(idB, "Wrong1!x")
	if unknown != pending || pending != wrongPw || !strings.HasPrefix(unknown, core.EUNAUTHORIZED) {
		t.Fatalf("%q %q %q", unknown, pending, wrongPw)
	}
}

func TestForgotPasswordWeb(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.addApp(t, idB, phoneB)
	// A pending account gets no reset code, and the answer is the same.
	if err := e.svc.ForgotPassword(ctx, idB, phoneB, ""); err != nil {
		t.Fatal(err)
	}
	e.activateWeb(t, idA, phoneA)
	n := len(e.sms.all())
	if err := e.svc.ForgotPassword(ctx, idA, phoneA, ""); err != nil {
		t.Fatal(err)
	}
	if len(e.sms.all()) != n+1 {
		t.Fatal("no reset code sent")
	}
	code := e.sms.lastCode(t, phoneA)
	// An activation-purpose verify of a reset code fails: purposes are separate.
	if _, err := e.svc.VerifyOTP(ctx, idA, phoneA, code, ""); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("cross-purpose: %v", err)
	}
	tok, err := e.svc.VerifyResetOTP(ctx, idA, phoneA, code, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ResetPassword(ctx, tok, "weak"); core.ErrorCode(err) != core.EINVALID {
		t.Fatal(err)
	}
	if err := e.svc.ResetPassword(ctx, tok, "Reset123$"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, idA, "Reset123$", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ResetPassword(ctx, tok, "Reset123$x"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("token reuse: %v", err)
	}
	last := e.events(t)
	if last[len(last)-1].Type != core.EventPasswordChanged {
		t.Fatalf("events %+v", last)
	}
}

func TestResetPasswordByUSSD(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.activateWeb(t, idA, phoneA)
	if err := e.svc.ResetPasswordByUSSD(ctx, phoneB, idA, "294716"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("other phone: %v", err)
	}
	if err := e.svc.ResetPasswordByUSSD(ctx, phoneA, idA, "999111"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("wrong passcode: %v", err)
	}
	if err := e.svc.ResetPasswordByUSSD(ctx, phoneA, idA, "294716"); err != nil {
		t.Fatal(err)
	}
	if s := e.state(t, idA); s != core.AccountPasswordChangeRequired {
		t.Fatalf("state %s", s)
	}
	if res, err := e.svc.Login(ctx, idA, e.sms.lastPassword(t, phoneA), ""); err != nil || !res.MustChangePassword {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestLockAndUnlock(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	if err := e.svc.LockByPhone(ctx, phoneA); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("lock pending: %v", err)
	}
	e.activateWeb(t, idA, phoneA)
	if err := e.svc.LockByPhone(ctx, phoneB); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("no account: %v", err)
	}
	if err := e.svc.LockByPhone(ctx, "0912345678"); err != nil {
		t.Fatal(err)
	}
	all := e.sms.all()
	if last := all[len(all)-1]; last.otp || !strings.Contains(last.text, "1900.0368") {
		t.Fatalf("lock notice %+v", last)
	}
	if err := e.svc.LockByPhone(ctx, phoneA); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("second lock: %v", err)
	}
	if _, err := e.svc.Login(ctx, idA, goodPw, ""); core.ErrorCode(err) != core.EFORBIDDEN || !strings.Contains(core.ErrorMessage(err), "1900.0368") {
		t.Fatalf("login locked: %v", err)
	}
	if _, err := e.svc.Login(ctx, idA, "Wrong1!x", ""); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("locked shows only to the right password: %v", err)
	}
	if err := e.svc.UnlockByAgent(ctx, "lan", idA, "identity checked by phone call"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UnlockByAgent(ctx, "lan", idA, ""); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("unlock active: %v", err)
	}
	if err := e.svc.LockByCitizen(ctx, idA, "Wrong1!x", ""); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("web lock wrong password: %v", err)
	}
	if err := e.svc.LockByCitizen(ctx, idA, goodPw, ""); err != nil {
		t.Fatal(err)
	}
	// Re-activation after identity is re-proved (OTP to the phone) unlocks.
	e.clock.Add(time.Minute)
	e.activateWeb(t, idA, phoneA)
	if s := e.state(t, idA); s != core.AccountActive {
		t.Fatalf("state %s", s)
	}
	if err := e.svc.LockByAgent(ctx, "lan", idA, "fraud report"); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range e.events(t) {
		types = append(types, ev.Type+"/"+string(ev.Channel))
	}
	want := "activated/web,locked/ussd,unlocked/agent,locked/web,activated/web,locked/agent"
	if strings.Join(types, ",") != want {
		t.Fatalf("events\n got %s\nwant %s", strings.Join(types, ","), want)
	}
	if e.auditCount(t, core.AuditLock, core.OutcomeOK) != 3 || e.auditCount(t, core.AuditUnlock, core.OutcomeOK) != 1 ||
		e.auditCount(t, core.AuditLock, core.OutcomeRefused) != 2 {
		t.Fatal("lock/unlock audit counts")
	}
}

// TestAuditHoldsNoSecrets: nothing the citizen typed or received reaches the
// audit log, and ID numbers appear masked.
func TestAuditHoldsNoSecrets(t *testing.T) {
	e := newActEnv(t)
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.activateWeb(t, idA, phoneA)
	_, _ = e.svc.Login(ctx, idA, "Wrong1!x", "")
	_ = e.svc.LockByPhone(ctx, phoneA)
	evs, _, err := e.audit.Events(ctx, "", 1000)
	if err != nil || len(evs) < 6 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	secrets := []string{idA, phoneA, goodPw, "Wrong1!x", "294716", "1960", "le loi"}
	for _, s := range e.sms.all() {
		if m := codeRe.FindStringSubmatch(s.text); m != nil {
			secrets = append(secrets, m[1])
		}
	}
	for _, ev := range evs {
		line := ev.Actor + "|" + ev.Subject + "|" + ev.Detail + "|" + ev.Client + "|" + ev.ID
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Fatalf("audit event %+v holds %q", ev, s)
			}
		}
	}
}

// TestEnumeration: unknown ID number, wrong phone and the right pair give
// the same answer in the same time (within a tolerance), and only the right
// pair gets a code.
func TestEnumeration(t *testing.T) {
	const floor = 120 * time.Millisecond
	e := newActEnv(t, func(o *core.OTPConfig, a *core.ActivationConfig) { a.MinDuration = floor })
	ctx := context.Background()
	e.addApp(t, idA, phoneA)
	e.addApp(t, idB, phoneB)
	type probe struct {
		name, id, phone string
	}
	probes := []probe{
		{"right pair", idA, phoneA},
		{"unknown id", "001085099999", phoneA},
		{"wrong phone", idA, "84911111111"},
		{"other's pair", idA, phoneB},
	}
	answers := map[string]string{}
	var lo, hi time.Duration = time.Hour, 0
	for round := 0; round < 2; round++ {
		for _, p := range probes {
			start := time.Now()
			err := e.svc.Start(ctx, p.id, p.phone, "10.0.0.1")
			d := time.Since(start)
			lo, hi = min(lo, d), max(hi, d)
			ans := core.ErrorCode(err) + "|" + core.ErrorMessage(err)
			if prev, ok := answers[p.name]; ok && round == 0 && prev != ans {
				t.Fatalf("%s unstable", p.name)
			}
			answers[fmt.Sprint(round)+p.name] = ans
			_, verr := e.svc.VerifyOTP(ctx, p.id, p.phone, "000000", "10.0.0.1")
			answers[fmt.Sprint(round)+p.name+" verify"] = core.ErrorCode(verr) + "|" + core.ErrorMessage(verr)
		}
	}
	// Round 0: every Start answers nil; round 1 (inside the cool-down):
	// every Start answers the same rate limit; every verify the same text.
	for _, p := range probes {
		if a, b := answers["0"+p.name], answers["0"+probes[0].name]; a != b {
			t.Errorf("round 0 %s: %q vs %q", p.name, a, b)
		}
		if a, b := answers["1"+p.name], answers["1"+probes[0].name]; a != b || !strings.HasPrefix(a, core.ERATELIMIT) {
			t.Errorf("round 1 %s: %q vs %q", p.name, a, b)
		}
		for r := 0; r < 2; r++ {
			if a := answers[fmt.Sprint(r)+p.name+" verify"]; a != "invalid|invalid or expired code" {
				t.Errorf("verify %s: %q", p.name, a)
			}
		}
	}
	if lo < floor || hi > floor+200*time.Millisecond {
		t.Errorf("timing: min %v max %v, want within [%v, %v]", lo, hi, floor, floor+200*time.Millisecond)
	}
	sent := e.sms.all()
	if len(sent) != 1 || sent[0].phone != phoneA {
		t.Fatalf("sent %+v", sent)
	}
}
