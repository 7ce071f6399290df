package web

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/core/store"
)

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// otpEnv serves the OTP and account routes over the real store and the
// real core services.
func otpEnv(t *testing.T) (*env, *core.ActivationService) {
	t.Helper()
	st, queued := openStore(t)
	bst := st.(*store.Store)
	router, _ := core.NewRouter(core.DefaultPrefixes(), core.OperatorViettel)
	sms, err := core.NewMessageService(core.MessageServiceConfig{Store: st, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultOTPConfig()
	cfg.Key = []byte("0123456789abcdef0123456789abcdef")
	cfg.MinDuration = -1
	audit := store.NewAuditLog(bst.DB())
	otp, err := core.NewOTPService(cfg, store.NewOTPStore(bst.DB()), sms, audit)
	if err != nil {
		t.Fatal(err)
	}
	accounts := bst.AccountStore()
	act, err := core.NewActivationService(core.ActivationConfig{
		Accounts: accounts, Throttles: accounts, Audit: audit, OTP: otp, SMS: sms,
		Hasher:      core.NewHasher(core.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}, []byte("pepper"), 2),
		MinDuration: -1, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, Config{}, st, queued, func(d *Deps) { d.OTP = otp; d.Accounts = act })
	return e, act
}

func TestOTPRoutes(t *testing.T) {
	e, _ := otpEnv(t)
	for _, c := range []struct{ body, code string }{
		{`{"phone":"0912345678","purpose":"party"}`, core.EINVALID},
		{`{"phone":"0243456789","purpose":"api"}`, core.EINVALID},
		{`{"phone":"0912345678","purpose":"api","code":"123456"}`, core.EINVALID},
		{`{"phone":"0912345678","purpose":"api","extra":1}`, core.EINVALID},
	} {
		r := e.do("POST", "/api/v1/otp", "application/json", []byte(c.body))
		if r.status != 400 || r.errCode(t) != c.code {
			t.Errorf("%s: %d %s", c.body, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/v1/otp", "application/json", []byte(`{"phone":"0912345678","purpose":"api"}`), noAuth()); r.status != 401 {
		t.Fatalf("no auth: %d", r.status)
	}
	r := e.do("POST", "/api/v1/otp", "application/json", []byte(`{"phone":"0912345678","purpose":"api"}`))
	if r.status != 202 {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	msgs, _, err := e.msgs.MessagesByPhone(context.Background(), "0912345678", "", 10)
	if err != nil || len(msgs) != 1 || msgs[0].Kind != core.KindOTP || msgs[0].Validity != 5*time.Minute {
		t.Fatalf("OTP message not queued in the otp lane: %+v %v", msgs, err)
	}
	code := sixDigits.FindString(msgs[0].Text)
	if code == "" {
		t.Fatalf("no code in %q", msgs[0].Text)
	}
	// Cool-down: a second code at once is refused with 429 and Retry-After.
	if r := e.do("POST", "/api/v1/otp", "application/json", []byte(`{"phone":"0912345678","purpose":"api"}`)); r.status != 429 {
		t.Fatalf("resend inside the cool-down: %d %s", r.status, r.body)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	verify := func(purpose, c string) resp {
		return e.do("POST", "/api/v1/otp/verify", "application/json", []byte(`{"phone":"84912345678","purpose":"`+purpose+`","code":"`+c+`"}`))
	}
	if r := verify("api", wrong); r.status/100 != 4 {
		t.Fatalf("wrong code: %d", r.status)
	}
	if r := verify("activation", code); r.status/100 != 4 {
		t.Fatalf("the code of another purpose verified: %d", r.status)
	}
	if r := verify("api", code); r.status != 200 {
		t.Fatalf("right code: %d %s", r.status, r.body)
	}
	if r := verify("api", code); r.status/100 != 4 {
		t.Fatalf("a used code verified again: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/otp/verify", "application/json", []byte(`{"phone":"0912345678","purpose":"api"}`)); r.status != 400 {
		t.Fatalf("verify without a code: %d", r.status)
	}
	if got := e.logBuf.String(); regexp.MustCompile(code).MatchString(got) {
		t.Fatal("the OTP reached the request log")
	}
}

func TestAccountRoute(t *testing.T) {
	e, act := otpEnv(t)
	app := &core.Application{ApplicationID: "A-1", IDNumber: "001085012345", FullName: "Nguyen Van An", DateOfBirth: "1985-03-02",
		Sex: core.SexMale, Phone: "0912345678", Level: 2}
	if err := act.CreateFromApplication(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	r := e.do("GET", "/api/v1/accounts/001085012345", "", nil)
	r.json(t, &out)
	if r.status != 200 || out["state"] != string(core.AccountPending) || len(out) != 1 {
		t.Fatalf("account state: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/accounts/001085099999", "", nil); r.status != 404 {
		t.Fatalf("unknown account: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/accounts/12ab", "", nil); r.status != 400 {
		t.Fatalf("malformed id: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/accounts/001085012345", "", nil, noAuth()); r.status != 401 {
		t.Fatalf("no auth: %d", r.status)
	}
	if got := e.logBuf.String(); regexp.MustCompile("001085012345").MatchString(got) {
		t.Fatal("a full ID number reached the request log")
	}
}
