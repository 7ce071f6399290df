package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// OTPPurpose separates codes: a code issued for one purpose never verifies
// for another (the purpose is part of both the record key and the hash).
type OTPPurpose string

const (
	OTPActivation    OTPPurpose = "activation"
	OTPPasswordReset OTPPurpose = "password_reset"
	OTPAPI           OTPPurpose = "api" // requested by the identity system for its own flows
)

// Valid reports whether p is a known purpose.
func (p OTPPurpose) Valid() bool {
	return p == OTPActivation || p == OTPPasswordReset || p == OTPAPI
}

// SMSSender queues texts for the outbound pipeline; core.MessageService
// implements it. OTP texts go to the otp lane with an SMPP validity equal
// to the code's lifetime.
type SMSSender interface {
	SubmitOTPText(ctx context.Context, phone, text string, validity time.Duration) (AcceptResult, error)
	SubmitSystemNotice(ctx context.Context, phone, text string) (AcceptResult, error)
}

// OTPMessageBuilder is an SMSSender that can build an OTP's message
// without queueing it, for a store that queues it itself (OTPSMSIssuer);
// core.MessageService implements it.
type OTPMessageBuilder interface {
	NewOTPMessage(phone, text string, validity time.Duration) (*Message, error)
}

// OTPConfig configures the OTP service.
type OTPConfig struct {
	Key              []byte        // server secret for code hashes and counter keys; at least 32 bytes
	Lifetime         time.Duration // default 5m, at most 10m
	Cooldown         time.Duration // between two codes for the same phone and purpose; default 60s
	MaxAttempts      int           // wrong tries that burn a code; default 5
	DailyPerPhone    int           // codes a phone may receive a day (per purpose); default 5
	DailyPerIDNumber int           // codes requested for one ID number a day; default 5
	DailyPerClient   int           // codes requested from one client address a day; default 50
	// MinDuration is the least time Issue and Verify take, so that timing
	// does not tell a sent code from a decoy; default 150ms.
	MinDuration time.Duration
	Now         func() time.Time // nil = time.Now
}

// DefaultOTPConfig returns the defaults (without a key).
func DefaultOTPConfig() OTPConfig {
	return OTPConfig{
		Lifetime: 5 * time.Minute, Cooldown: 60 * time.Second, MaxAttempts: 5,
		DailyPerPhone: 5, DailyPerIDNumber: 5, DailyPerClient: 50,
		MinDuration: 150 * time.Millisecond,
	}
}

// MaxOTPLifetime bounds OTPConfig.Lifetime.
const MaxOTPLifetime = 10 * time.Minute

// Messages of the OTP service: one text for every wrong, used, expired or
// never-issued code, so the answer tells nothing.
const (
	msgInvalidCode = "invalid or expired code"
)

// OTPService issues and verifies one-time codes. Codes are 6 digits from
// crypto/rand, stored only as HMAC-SHA256(key, purpose|phone|subject|code),
// single use, burned after MaxAttempts wrong tries, replaced by a resend
// after the cool-down, and capped per day per phone, ID number and client
// address. Neither a code nor a full ID number reaches a log or the audit.
type OTPService struct {
	cfg   OTPConfig
	store OTPStore
	sms   SMSSender
	audit AuditLog
	now   func() time.Time
}

// NewOTPService checks cfg, applies defaults and returns the service.
func NewOTPService(cfg OTPConfig, store OTPStore, sms SMSSender, audit AuditLog) (*OTPService, error) {
	d := DefaultOTPConfig()
	if len(cfg.Key) < 32 {
		return nil, Errorf(EINVALID, "otp: key must be at least 32 bytes")
	}
	if store == nil || sms == nil || audit == nil {
		return nil, Errorf(EINVALID, "otp: store, sms sender and audit log are required")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = d.Lifetime
	}
	if cfg.Lifetime < time.Minute || cfg.Lifetime > MaxOTPLifetime {
		return nil, Errorf(EINVALID, "otp: lifetime must be between 1m and %v", MaxOTPLifetime)
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = d.Cooldown
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	if cfg.DailyPerPhone <= 0 {
		cfg.DailyPerPhone = d.DailyPerPhone
	}
	if cfg.DailyPerIDNumber <= 0 {
		cfg.DailyPerIDNumber = d.DailyPerIDNumber
	}
	if cfg.DailyPerClient <= 0 {
		cfg.DailyPerClient = d.DailyPerClient
	}
	if cfg.MinDuration < 0 {
		cfg.MinDuration = 0
	}
	cfg.Key = append([]byte(nil), cfg.Key...)
	return &OTPService{cfg: cfg, store: store, sms: sms, audit: audit, now: nowFunc(cfg.Now)}, nil
}

// Config returns the effective configuration (without the key).
func (s *OTPService) Config() OTPConfig {
	c := s.cfg
	c.Key = nil
	return c
}

// otpRequest is one issue or verify. subject binds the code to an ID
// number for the activation and reset flows ("" for API codes).
type otpRequest struct {
	purpose OTPPurpose
	phone   string
	subject string
	client  string
	channel Channel
	actor   string
	decoy   bool // the (ID, phone) pair matched nothing: do the same work, send nothing
}

// Issue sends a new code for purpose to phone (API flows). ERATELIMIT
// during the cool-down or over a daily cap; EINVALID for a bad phone or
// purpose; EUNAVAILABLE if the SMS could not be queued.
func (s *OTPService) Issue(ctx context.Context, phone string, purpose OTPPurpose, clientAddr string) error {
	start := time.Now()
	defer s.pad(ctx, start)
	msisdn, err := NormalizeMSISDN(phone)
	if err != nil {
		return err
	}
	if !purpose.Valid() {
		return Errorf(EINVALID, "purpose: one of activation, password_reset, api")
	}
	return s.issue(ctx, otpRequest{purpose: purpose, phone: msisdn, client: clientAddr, channel: ChannelAPI, actor: "api"})
}

// Verify checks a code (API flows): nil for the right code, which is then
// used up; EINVALID "invalid or expired code" for anything else.
func (s *OTPService) Verify(ctx context.Context, phone string, purpose OTPPurpose, code, clientAddr string) error {
	start := time.Now()
	defer s.pad(ctx, start)
	msisdn, err := NormalizeMSISDN(phone)
	if err != nil {
		return err
	}
	if !purpose.Valid() {
		return Errorf(EINVALID, "purpose: one of activation, password_reset, api")
	}
	return s.verify(ctx, otpRequest{purpose: purpose, phone: msisdn, client: clientAddr, channel: ChannelAPI, actor: "api"}, code)
}

// pad sleeps until MinDuration has passed since start (or ctx ends).
func (s *OTPService) pad(ctx context.Context, start time.Time) {
	padUntil(ctx, start, s.cfg.MinDuration)
}

func padUntil(ctx context.Context, start time.Time, min time.Duration) {
	d := min - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// tag is a keyed, truncated hash naming a phone, ID number or client in a
// store key without holding it in clear.
func (s *OTPService) tag(parts ...string) string {
	m := hmac.New(sha256.New, s.cfg.Key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (s *OTPService) recordKey(r otpRequest) string {
	return "o/" + s.tag("otp", string(r.purpose), r.phone, r.subject)
}

func (s *OTPService) codeHash(r otpRequest, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	for _, p := range []string{"code", string(r.purpose), r.phone, r.subject, code} {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// newCode returns 6 uniform digits from crypto/rand.
func newCode() (string, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", Errorf(EINTERNAL, "otp: random: %w", err)
		}
		v := binary.BigEndian.Uint64(b[:])
		// Reject the top sliver so v%1e6 is uniform.
		if v < (1<<64-1)/1_000_000*1_000_000 {
			return fmt.Sprintf("%06d", v%1_000_000), nil
		}
	}
}

// OTPText is the SMS carrying a code: GSM-7, one segment.
func OTPText(code string, lifetime time.Duration) string {
	mins := int((lifetime + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("Ma xac thuc VNeID cua ban la %s, hieu luc %d phut. KHONG cung cap ma nay cho bat ky ai, ke ca can bo cong an.", code, mins)
}

func (s *OTPService) charges(r otpRequest) []DailyCharge {
	c := []DailyCharge{{Key: s.tag("cap-phone", string(r.purpose), r.phone), Limit: s.cfg.DailyPerPhone}}
	if r.subject != "" {
		c = append(c, DailyCharge{Key: s.tag("cap-id", r.subject), Limit: s.cfg.DailyPerIDNumber})
	}
	if r.client != "" {
		c = append(c, DailyCharge{Key: s.tag("cap-client", r.client), Limit: s.cfg.DailyPerClient})
	}
	return c
}

func (s *OTPService) issue(ctx context.Context, r otpRequest) (err error) {
	now := s.now()
	code, err := newCode()
	if err != nil {
		return err
	}
	h := s.codeHash(r, code)
	if r.decoy {
		// Same work, but a hash no code has: the record keeps the
		// cool-down and counts guesses like a real one.
		if _, err := rand.Read(h); err != nil {
			return Errorf(EINTERNAL, "otp: random: %w", err)
		}
	}
	keep := max(s.cfg.Lifetime, s.cfg.Cooldown)
	key := s.recordKey(r)
	fn := func(cur *OTPRecord) (*OTPRecord, error) {
		if cur != nil && now.Before(cur.IssuedAt.Add(s.cfg.Cooldown)) {
			wait := cur.IssuedAt.Add(s.cfg.Cooldown).Sub(now).Round(time.Second)
			return nil, Errorf(ERATELIMIT, "a code was sent recently; try again in %v", max(wait, time.Second))
		}
		return &OTPRecord{Hash: h, IssuedAt: now, ExpiresAt: now.Add(s.cfg.Lifetime), KeepFor: keep}, nil
	}
	if iss, ok := s.store.(OTPSMSIssuer); ok {
		if mb, ok := s.sms.(OTPMessageBuilder); ok {
			return s.issueWithSMS(ctx, r, iss, mb, key, now, code, fn)
		}
	}
	err = s.store.IssueOTP(ctx, key, dayKey(now), s.charges(r), fn)
	outcome := issueOutcome(err, r.decoy)
	if err == nil && !r.decoy {
		if _, serr := s.sms.SubmitOTPText(ctx, r.phone, OTPText(code, s.cfg.Lifetime), s.cfg.Lifetime); serr != nil {
			// Not sent: drop the code so the citizen can ask again at once.
			_ = s.store.UpdateOTP(ctx, key, func(*OTPRecord) (*OTPRecord, bool, error) { return nil, true, nil })
			outcome, err = OutcomeError, Errorf(EUNAVAILABLE, "the code could not be sent; try again later: %w", serr)
		}
	}
	s.record(ctx, r, AuditOTPIssue, outcome, string(r.purpose))
	return err
}

// issueWithSMS is issue's path on a store that queues the SMS in the same
// write as the record: nothing to undo when the SMS cannot be queued.
func (s *OTPService) issueWithSMS(ctx context.Context, r otpRequest, iss OTPSMSIssuer, mb OTPMessageBuilder, key string, now time.Time, code string, fn func(*OTPRecord) (*OTPRecord, error)) error {
	var sms *AcceptRequest
	if !r.decoy {
		m, err := mb.NewOTPMessage(r.phone, OTPText(code, s.cfg.Lifetime), s.cfg.Lifetime)
		if err != nil {
			s.record(ctx, r, AuditOTPIssue, OutcomeError, string(r.purpose))
			return Errorf(EUNAVAILABLE, "the code could not be sent; try again later: %w", err)
		}
		sms = &AcceptRequest{Message: m}
	}
	_, err := iss.IssueOTPWithSMS(ctx, key, dayKey(now), s.charges(r), fn, sms)
	outcome := issueOutcome(err, r.decoy)
	if outcome == OutcomeError && ErrorCode(err) != EINVALID {
		err = Errorf(EUNAVAILABLE, "the code could not be sent; try again later: %w", err)
	}
	s.record(ctx, r, AuditOTPIssue, outcome, string(r.purpose))
	return err
}

// issueOutcome is the audit outcome of an issue that ended with err.
func issueOutcome(err error, decoy bool) string {
	switch {
	case err != nil && ErrorCode(err) == ERATELIMIT:
		return OutcomeRateLimited
	case err != nil:
		return OutcomeError
	case decoy:
		return OutcomeNoMatch
	}
	return OutcomeOK
}

// verify checks code against the live record of r. A wrong guess is
// counted (and burns the code at MaxAttempts) in the same transaction that
// read the record, so concurrent guesses cannot exceed the cap.
func (s *OTPService) verify(ctx context.Context, r otpRequest, code string) error {
	now := s.now()
	h := s.codeHash(r, code)
	outcome := OutcomeError
	err := s.store.UpdateOTP(ctx, s.recordKey(r), func(cur *OTPRecord) (*OTPRecord, bool, error) {
		if cur == nil || cur.Hash == nil || !now.Before(cur.ExpiresAt) {
			outcome = OutcomeNoCode
			return cur, false, Errorf(EINVALID, msgInvalidCode)
		}
		next := *cur
		if subtle.ConstantTimeCompare(h, cur.Hash) == 1 {
			next.Hash = nil // single use; the record keeps the cool-down
			outcome = OutcomeOK
			return &next, true, nil
		}
		next.Attempts++
		if next.Attempts >= s.cfg.MaxAttempts {
			next.Hash = nil // burned
		}
		outcome = OutcomeMismatch
		return &next, true, Errorf(EINVALID, msgInvalidCode)
	})
	if err != nil && ErrorCode(err) != EINVALID {
		outcome = OutcomeError
	}
	s.record(ctx, r, AuditOTPVerify, outcome, string(r.purpose))
	return err
}

// chargeDaily counts a use of a per-day allowance outside OTPs (USSD
// activation attempts per phone).
func (s *OTPService) chargeDaily(ctx context.Context, name, value string, limit int) error {
	return s.store.ChargeDaily(ctx, dayKey(s.now()), []DailyCharge{{Key: s.tag(name, value), Limit: limit}})
}

func (s *OTPService) record(ctx context.Context, r otpRequest, action, outcome, detail string) {
	ev := AuditEvent{At: s.now(), Actor: r.actor, Channel: r.channel, Action: action,
		Subject: auditSubject(r.subject, r.phone), Client: r.client, Outcome: outcome, Detail: detail}
	_ = s.audit.Record(context.WithoutCancel(ctx), ev) // best effort: an audit failure must not change the answer
}
