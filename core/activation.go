package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// LoginPolicy sets the growing delays and temporary locks after failed
// log-ins (and passcode checks), per account and per client address.
type LoginPolicy struct {
	FreeFailures       int           // failures answered without delay; default 2
	BaseDelay          time.Duration // first delay, doubled per further failure; default 2s
	MaxDelay           time.Duration // default 60s
	LockAfter          int           // failures of one account that lock it for LockFor; default 5
	LockFor            time.Duration // default 15m
	ClientFreeFailures int           // failures from one client address before its delays start; default 10
	ClientLockAfter    int           // failures from one client address that lock it out; default 30
	Window             time.Duration // failures older than this are forgotten; default 24h
}

// DefaultLoginPolicy returns the defaults.
func DefaultLoginPolicy() LoginPolicy {
	return LoginPolicy{FreeFailures: 2, BaseDelay: 2 * time.Second, MaxDelay: time.Minute,
		LockAfter: 5, LockFor: 15 * time.Minute, ClientFreeFailures: 10, ClientLockAfter: 30, Window: 24 * time.Hour}
}

// ActivationConfig wires an ActivationService.
type ActivationConfig struct {
	Accounts  AccountStore
	Throttles ThrottleStore
	Audit     AuditLog
	OTP       *OTPService
	SMS       SMSSender
	Hasher    *Hasher
	// TokenLifetime bounds the time between a verified OTP and the form
	// that completes activation or a password reset; default 10m.
	TokenLifetime time.Duration
	// USSDDailyPerPhone caps USSD activation / reset attempts a phone may
	// make a day; default 10.
	USSDDailyPerPhone int
	// MinDuration is the least time the answers that must not tell whether
	// an ID number exists take (Start, VerifyOTP, Login, the USSD flows);
	// default 250ms, negative for none (tests).
	MinDuration time.Duration
	Login       LoginPolicy
	Now         func() time.Time // nil = time.Now
	Log         zerolog.Logger
}

// ActivationService is the citizen's account journey, the same for every
// channel: activation over web/API (OTP) and USSD, log-in with throttling,
// forgot password, lock and unlock. Every state change is an audit event
// and an account event in the webhook outbox.
type ActivationService struct {
	cfg ActivationConfig
	now func() time.Time
	log zerolog.Logger
	// dummyHash is verified against when an ID number has no password, so
	// a log-in costs one argon2id either way.
	dummyHash string
}

// NewActivationService checks cfg and returns the service.
func NewActivationService(cfg ActivationConfig) (*ActivationService, error) {
	if cfg.Accounts == nil || cfg.Throttles == nil || cfg.Audit == nil || cfg.OTP == nil || cfg.SMS == nil || cfg.Hasher == nil {
		return nil, Errorf(EINVALID, "activation: accounts, throttles, audit, otp, sms and hasher are required")
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = 10 * time.Minute
	}
	if cfg.USSDDailyPerPhone <= 0 {
		cfg.USSDDailyPerPhone = 10
	}
	if cfg.MinDuration == 0 {
		cfg.MinDuration = 250 * time.Millisecond
	}
	d := DefaultLoginPolicy()
	p := &cfg.Login
	if p.FreeFailures <= 0 {
		p.FreeFailures = d.FreeFailures
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.LockAfter <= 0 {
		p.LockAfter = d.LockAfter
	}
	if p.LockFor <= 0 {
		p.LockFor = d.LockFor
	}
	if p.ClientFreeFailures <= 0 {
		p.ClientFreeFailures = d.ClientFreeFailures
	}
	if p.ClientLockAfter <= 0 {
		p.ClientLockAfter = d.ClientLockAfter
	}
	if p.Window <= 0 {
		p.Window = d.Window
	}
	dummy, err := cfg.Hasher.Hash(context.Background(), "password", "dummy-password-never-matches")
	if err != nil {
		return nil, err
	}
	return &ActivationService{cfg: cfg, now: nowFunc(cfg.Now), log: cfg.Log, dummyHash: dummy}, nil
}

// validIDShape reports whether id is 12 digits (the full check against a
// date of birth and sex happens when the application is accepted).
func validIDShape(id string) bool {
	if len(id) != 12 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

func errBadIDNumber() error { return Errorf(EINVALID, "ID number: 12 digits") }

// CreateFromApplication makes an approved application an account waiting
// for activation. Idempotent; ECONFLICT when the phone already holds
// another ID number's account (one phone, one account) or the ID number's
// account has another phone.
func (s *ActivationService) CreateFromApplication(ctx context.Context, app *Application) error {
	if app == nil || !validIDShape(app.IDNumber) {
		return errBadIDNumber()
	}
	phone, err := NormalizeMSISDN(app.Phone)
	if err != nil {
		return err
	}
	now := s.now()
	a := &Account{IDNumber: app.IDNumber, Phone: phone, ApplicationID: app.ApplicationID, FullName: app.FullName,
		DateOfBirth: app.DateOfBirth, Sex: app.Sex, Level: app.Level, State: AccountPending, CreatedAt: now, UpdatedAt: now}
	created, err := s.cfg.Accounts.CreateAccount(ctx, a)
	outcome := OutcomeOK
	switch {
	case err != nil && ErrorCode(err) == ECONFLICT:
		outcome = OutcomeRefused
	case err != nil:
		outcome = OutcomeError
	case !created:
		return nil
	}
	s.audit(ctx, AuditEvent{Actor: "system", Channel: ChannelAPI, Action: AuditAccountCreated,
		Subject: auditSubject(a.IDNumber, phone), Outcome: outcome})
	return err
}

// CreateFromApplications is CreateFromApplication for a batch of
// validated applications (the bulk approvals path): one storage write for
// the accounts and one for their audit events. errs[i] answers apps[i]
// (ECONFLICT when the phone already holds another ID number's account);
// err is a storage failure.
func (s *ActivationService) CreateFromApplications(ctx context.Context, apps []*Application) (errs []error, err error) {
	now := s.now()
	errs = make([]error, len(apps))
	accounts := make([]*Account, 0, len(apps))
	backing := make([]Account, len(apps)) // one allocation for the batch's accounts
	index := make([]int, 0, len(apps))
	for i, app := range apps {
		if app == nil || !validIDShape(app.IDNumber) {
			errs[i] = errBadIDNumber()
			continue
		}
		phone, err := NormalizeMSISDN(app.Phone)
		if err != nil {
			errs[i] = err
			continue
		}
		a := &backing[len(accounts)]
		*a = Account{IDNumber: app.IDNumber, Phone: phone, ApplicationID: app.ApplicationID, FullName: app.FullName,
			DateOfBirth: app.DateOfBirth, Sex: app.Sex, Level: app.Level, State: AccountPending, CreatedAt: now, UpdatedAt: now}
		accounts = append(accounts, a)
		index = append(index, i)
	}
	if len(accounts) == 0 {
		return errs, nil
	}
	created, cerrs, err := s.cfg.Accounts.CreateAccounts(ctx, accounts)
	if err != nil {
		return nil, err
	}
	events := make([]AuditEvent, 0, len(accounts))
	for j, a := range accounts {
		errs[index[j]] = cerrs[j]
		outcome := OutcomeOK
		switch {
		case cerrs[j] != nil && ErrorCode(cerrs[j]) == ECONFLICT:
			outcome = OutcomeRefused
		case cerrs[j] != nil:
			outcome = OutcomeError
		case !created[j]:
			continue
		}
		events = append(events, AuditEvent{Actor: "system", Channel: ChannelAPI, Action: AuditAccountCreated,
			Subject: auditSubject(a.IDNumber, a.Phone), Outcome: outcome, At: now})
	}
	if len(events) > 0 {
		if err := s.cfg.Audit.RecordBatch(ctx, events); err != nil {
			s.log.Error().Err(err).Int("events", len(events)).Msg("audit: account creation events not recorded")
		}
	}
	return errs, nil
}

// AccountState returns an account's state (ENOTFOUND, EINVALID for a
// malformed ID number). For the identity system's API only.
func (s *ActivationService) AccountState(ctx context.Context, idNumber string) (AccountState, error) {
	if !validIDShape(idNumber) {
		return "", errBadIDNumber()
	}
	a, err := s.cfg.Accounts.Account(ctx, idNumber)
	if err != nil {
		return "", err
	}
	return a.State, nil
}

// matchPair reports whether (idNumber, phone) is an account's pair, with
// the account. Both comparisons are constant-time and the lookup is the
// same whichever part is wrong.
func (s *ActivationService) matchPair(ctx context.Context, idNumber, phone string) (*Account, bool, error) {
	a, err := s.cfg.Accounts.AccountByPhone(ctx, phone)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, false, nil
		}
		return nil, false, err
	}
	ok := subtle.ConstantTimeCompare([]byte(a.IDNumber), []byte(idNumber)) == 1
	return a, ok, nil
}

func normalizePair(idNumber, phone string) (string, error) {
	if !validIDShape(idNumber) {
		return "", errBadIDNumber()
	}
	return NormalizeMSISDN(phone)
}

// Start begins activation over the web or API: when (idNumber, phone) is
// an account's pair an activation code goes to the phone. The answer is
// the same (nil, or the same ERATELIMIT) and takes the same time whether
// or not the pair matched; a pair that matches nothing gets a decoy record
// that behaves like a real one. Only shape errors (EINVALID) differ.
func (s *ActivationService) Start(ctx context.Context, idNumber, phone, clientAddr string) error {
	return s.startOTP(ctx, OTPActivation, idNumber, phone, clientAddr)
}

// VerifyOTP checks the activation code and returns a short-lived token for
// Complete. EINVALID "invalid or expired code" for a wrong code (or a pair
// that matched nothing); ECONFLICT MsgAlreadyActivated when the account is
// already active: only the phone's holder, who got the code, learns it.
func (s *ActivationService) VerifyOTP(ctx context.Context, idNumber, phone, code, clientAddr string) (string, error) {
	return s.verifyOTP(ctx, OTPActivation, idNumber, phone, code, clientAddr)
}

// ForgotPassword begins a password reset over the web: like Start, with the
// reset purpose; a code is sent only for an activated account.
func (s *ActivationService) ForgotPassword(ctx context.Context, idNumber, phone, clientAddr string) error {
	return s.startOTP(ctx, OTPPasswordReset, idNumber, phone, clientAddr)
}

// VerifyResetOTP checks a reset code and returns a token for ResetPassword.
func (s *ActivationService) VerifyResetOTP(ctx context.Context, idNumber, phone, code, clientAddr string) (string, error) {
	return s.verifyOTP(ctx, OTPPasswordReset, idNumber, phone, code, clientAddr)
}

func (s *ActivationService) startOTP(ctx context.Context, purpose OTPPurpose, idNumber, phone, clientAddr string) error {
	start := time.Now()
	defer padUntil(ctx, start, s.cfg.MinDuration)
	msisdn, err := normalizePair(idNumber, phone)
	if err != nil {
		return err
	}
	a, match, err := s.matchPair(ctx, idNumber, msisdn)
	if err != nil {
		return err
	}
	if match && purpose == OTPPasswordReset && a.State == AccountPending {
		match = false // nothing to reset; answer as for an unknown pair
	}
	return s.cfg.OTP.issue(ctx, otpRequest{purpose: purpose, phone: msisdn, subject: idNumber, client: clientAddr,
		channel: ChannelWeb, actor: "citizen", decoy: !match})
}

func (s *ActivationService) verifyOTP(ctx context.Context, purpose OTPPurpose, idNumber, phone, code, clientAddr string) (string, error) {
	start := time.Now()
	defer padUntil(ctx, start, s.cfg.MinDuration)
	msisdn, err := normalizePair(idNumber, phone)
	if err != nil {
		return "", err
	}
	r := otpRequest{purpose: purpose, phone: msisdn, subject: idNumber, client: clientAddr, channel: ChannelWeb, actor: "citizen"}
	if err := s.cfg.OTP.verify(ctx, r, code); err != nil {
		return "", err
	}
	// The code was right, so the pair matched when it was issued.
	a, err := s.cfg.Accounts.Account(ctx, idNumber)
	if err != nil {
		return "", err
	}
	act := ActActivate
	if purpose == OTPPasswordReset {
		act = ActResetPassword
	}
	if _, err := a.State.Transition(act); err != nil {
		return "", err
	}
	return s.newToken(ctx, purpose, idNumber)
}

func tokenKey(purpose OTPPurpose, token string) string {
	sum := sha256.Sum256([]byte(token))
	return "t/" + string(purpose) + "/" + hex.EncodeToString(sum[:])
}

// newToken stores (hashed) and returns a random token bound to idNumber.
func (s *ActivationService) newToken(ctx context.Context, purpose OTPPurpose, idNumber string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Errorf(EINTERNAL, "token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	err := s.cfg.OTP.store.UpdateOTP(ctx, tokenKey(purpose, tok), func(*OTPRecord) (*OTPRecord, bool, error) {
		return &OTPRecord{Subject: idNumber, IssuedAt: now, ExpiresAt: now.Add(s.cfg.TokenLifetime), KeepFor: s.cfg.TokenLifetime}, true, nil
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

func errBadToken() error {
	return Errorf(EUNAUTHORIZED, "this step has expired; please start again")
}

// peekToken returns the ID number a live token is bound to.
func (s *ActivationService) peekToken(ctx context.Context, purpose OTPPurpose, token string) (string, error) {
	if len(token) == 0 || len(token) > 100 {
		return "", errBadToken()
	}
	now := s.now()
	var id string
	err := s.cfg.OTP.store.UpdateOTP(ctx, tokenKey(purpose, token), func(cur *OTPRecord) (*OTPRecord, bool, error) {
		if cur == nil || !now.Before(cur.ExpiresAt) {
			return cur, false, errBadToken()
		}
		id = cur.Subject
		return cur, false, nil
	})
	return id, err
}

// takeToken consumes a token (single use).
func (s *ActivationService) takeToken(ctx context.Context, purpose OTPPurpose, token, idNumber string) error {
	now := s.now()
	return s.cfg.OTP.store.UpdateOTP(ctx, tokenKey(purpose, token), func(cur *OTPRecord) (*OTPRecord, bool, error) {
		if cur == nil || !now.Before(cur.ExpiresAt) || cur.Subject != idNumber {
			return cur, false, errBadToken()
		}
		return nil, true, nil
	})
}

// Complete finishes activation over the web: token from VerifyOTP, the new
// password, passcode and two different security questions with answers.
// EINVALID (the token stays usable) for credentials that break the policy;
// EUNAUTHORIZED for a used or expired token; ECONFLICT MsgAlreadyActivated.
func (s *ActivationService) Complete(ctx context.Context, token, password, passcode string, q1 int, a1 string, q2 int, a2 string) error {
	id, err := s.peekToken(ctx, OTPActivation, token)
	if err != nil {
		return err
	}
	a, err := s.cfg.Accounts.Account(ctx, id)
	if err != nil {
		return err
	}
	if err := ValidatePassword(password); err != nil {
		return err
	}
	if err := ValidatePasscode(passcode, a.DateOfBirth); err != nil {
		return err
	}
	n1, n2, err := CheckQuestions(q1, a1, q2, a2, false)
	if err != nil {
		return err
	}
	creds, err := s.hashCredentials(ctx, password, passcode, q1, n1, q2, n2)
	if err != nil {
		return err
	}
	if err := s.takeToken(ctx, OTPActivation, token, id); err != nil {
		return err
	}
	_, err = s.change(ctx, id, ActActivate, ChannelWeb, "citizen", "", EventActivated, func(a *Account) { creds.apply(a) })
	return err
}

type credentials struct {
	password, passcode string
	questions          []SecurityAnswer
}

func (c credentials) apply(a *Account) {
	a.PasswordHash = c.password
	if c.passcode != "" {
		a.PasscodeHash = c.passcode
	}
	if c.questions != nil {
		a.Questions = c.questions
	}
}

func (s *ActivationService) hashCredentials(ctx context.Context, password, passcode string, q1 int, n1 string, q2 int, n2 string) (credentials, error) {
	var c credentials
	var err error
	if c.password, err = s.cfg.Hasher.Hash(ctx, "password", password); err != nil {
		return c, err
	}
	if c.passcode, err = s.cfg.Hasher.Hash(ctx, "passcode", passcode); err != nil {
		return c, err
	}
	h1, err := s.cfg.Hasher.Hash(ctx, fmt.Sprintf("answer%d", q1), n1)
	if err != nil {
		return c, err
	}
	h2, err := s.cfg.Hasher.Hash(ctx, fmt.Sprintf("answer%d", q2), n2)
	if err != nil {
		return c, err
	}
	c.questions = []SecurityAnswer{{QuestionID: q1, AnswerHash: h1}, {QuestionID: q2, AnswerHash: h2}}
	return c, nil
}

// errNoUSSDMatch is the one answer for "no such application" and "not
// your phone" over USSD.
func errNoUSSDMatch() error {
	return Errorf(ENOTFOUND, "no application matches this phone number and ID number")
}

// ActivateByUSSD activates from a USSD session: phone comes from the
// network, so no OTP. The passcode and two numeric security questions come
// from the keypad; a password is generated to the policy and sent by SMS
// after the change is stored, and must be changed at the first web log-in
// (password_change_required). ENOTFOUND alike for an unknown ID number and
// for another phone's ID number; ECONFLICT MsgAlreadyActivated; EINVALID
// for a weak passcode or bad answers; ERATELIMIT over the daily attempts.
func (s *ActivationService) ActivateByUSSD(ctx context.Context, phone, idNumber, passcode string, q1 int, a1 string, q2 int, a2 string) error {
	start := time.Now()
	defer padUntil(ctx, start, s.cfg.MinDuration)
	msisdn, a, err := s.ussdMatch(ctx, phone, idNumber, AuditActivate)
	if err != nil {
		return err
	}
	if _, err := a.State.Transition(ActActivateUSSD); err != nil {
		return err
	}
	if err := ValidatePasscode(passcode, a.DateOfBirth); err != nil {
		return err
	}
	n1, n2, err := CheckQuestions(q1, a1, q2, a2, true)
	if err != nil {
		return err
	}
	pw, err := GeneratePassword()
	if err != nil {
		return err
	}
	creds, err := s.hashCredentials(ctx, pw, passcode, q1, n1, q2, n2)
	if err != nil {
		return err
	}
	if _, err := s.change(ctx, idNumber, ActActivateUSSD, ChannelUSSD, "citizen", "", EventActivated, func(a *Account) { creds.apply(a) }); err != nil {
		return err
	}
	return s.sendNotice(ctx, msisdn, GeneratedPasswordText(pw))
}

// ussdMatch normalises and checks a USSD caller's (phone, ID number)
// against the daily cap and the account's pair.
func (s *ActivationService) ussdMatch(ctx context.Context, phone, idNumber, action string) (string, *Account, error) {
	msisdn, err := NormalizeMSISDN(phone)
	if err != nil {
		return "", nil, err
	}
	if !validIDShape(idNumber) {
		return "", nil, errBadIDNumber()
	}
	if err := s.cfg.OTP.chargeDaily(ctx, "cap-ussd", msisdn, s.cfg.USSDDailyPerPhone); err != nil {
		s.audit(ctx, AuditEvent{Actor: "citizen", Channel: ChannelUSSD, Action: action, Subject: auditSubject(idNumber, msisdn), Outcome: OutcomeRateLimited})
		return "", nil, err
	}
	a, ok, err := s.matchPair(ctx, idNumber, msisdn)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		s.audit(ctx, AuditEvent{Actor: "citizen", Channel: ChannelUSSD, Action: action, Subject: auditSubject(idNumber, msisdn), Outcome: OutcomeNoMatch})
		return "", nil, errNoUSSDMatch()
	}
	return msisdn, a, nil
}

// GeneratedPasswordText is the SMS carrying a generated password.
func GeneratedPasswordText(pw string) string {
	return "Mat khau dang nhap VNeID cua ban la " + pw + " . Hay doi mat khau khi dang nhap lan dau. KHONG cung cap mat khau cho bat ky ai."
}

// LockNoticeText is the SMS telling a citizen the account is locked.
func LockNoticeText() string {
	return "Tai khoan dinh danh dien tu cua ban da bi khoa. Neu khong phai ban yeu cau, hay goi tong dai " + Hotline + " de duoc ho tro."
}

func (s *ActivationService) sendNotice(ctx context.Context, phone, text string) error {
	if _, err := s.cfg.SMS.SubmitSystemNotice(context.WithoutCancel(ctx), phone, text); err != nil {
		s.log.Error().Err(err).Str("phone", MaskMSISDN(phone)).Msg("account notice not queued")
		return Errorf(EUNAVAILABLE, "the change is saved but the SMS could not be sent; use forgot password later: %w", err)
	}
	return nil
}

// change applies act to the account of idNumber with edit, stores it with
// an account event of evType (none if "") in one transaction, and audits.
func (s *ActivationService) change(ctx context.Context, idNumber string, act AccountAction, ch Channel, actor, detail, evType string, edit func(*Account)) (*Account, error) {
	now := s.now()
	var from AccountState
	a, err := s.cfg.Accounts.UpdateAccount(ctx, idNumber, func(a *Account) (*AccountEvent, error) {
		var err error
		if from, err = a.apply(act, now); err != nil {
			return nil, err
		}
		if edit != nil {
			edit(a)
		}
		if evType == "" {
			return nil, nil
		}
		return &AccountEvent{ID: NewID(now), Type: evType, IDNumber: a.IDNumber, State: a.State, Channel: ch, At: now}, nil
	})
	ev := AuditEvent{Actor: actor, Channel: ch, Action: auditAction(act), Subject: auditSubject(idNumber, ""), Outcome: OutcomeOK, Detail: detail}
	switch {
	case err == nil:
		ev.Subject = auditSubject(idNumber, a.Phone)
		ev.Detail = joinDetail(string(from)+"→"+string(a.State), detail)
	case ErrorCode(err) == EINTERNAL || ErrorCode(err) == EUNAVAILABLE:
		ev.Outcome = OutcomeError
	default:
		ev.Outcome = OutcomeRefused
		ev.Detail = joinDetail(ErrorCode(err), detail)
	}
	s.audit(ctx, ev)
	return a, err
}

func joinDetail(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

func auditAction(act AccountAction) string {
	switch act {
	case ActActivate, ActActivateUSSD:
		return AuditActivate
	case ActChangePassword:
		return AuditPasswordChange
	case ActResetPassword, ActResetPasswordUSSD:
		return AuditPasswordReset
	case ActLock:
		return AuditLock
	case ActUnlock:
		return AuditUnlock
	}
	return string(act)
}

func (s *ActivationService) audit(ctx context.Context, ev AuditEvent) {
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	if err := s.cfg.Audit.Record(context.WithoutCancel(ctx), ev); err != nil {
		s.log.Error().Err(err).Str("action", ev.Action).Msg("audit event not recorded")
	}
}
