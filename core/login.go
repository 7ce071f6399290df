package core

import (
	"context"
	"time"
)

// LoginResult is a successful log-in.
type LoginResult struct {
	IDNumber string
	State    AccountState
	// MustChangePassword is set for a generated password (USSD
	// activation or reset): the web sends the citizen to ChangePassword.
	MustChangePassword bool
}

func errBadLogin() error { return Errorf(EUNAUTHORIZED, "wrong ID number or password") }

func errLocked() error {
	return Errorf(EFORBIDDEN, "account is locked; call the hotline %s", Hotline)
}

func (s *ActivationService) throttleKeys(idNumber, clientAddr string) (acct, client string) {
	acct = "a/" + s.cfg.OTP.tag("login-id", idNumber)
	if clientAddr != "" {
		client = "c/" + s.cfg.OTP.tag("login-client", clientAddr)
	}
	return acct, client
}

// checkThrottle refuses (ERATELIMIT) while a throttle's NotBefore is ahead.
func (s *ActivationService) checkThrottle(ctx context.Context, key string, now time.Time) error {
	if key == "" {
		return nil
	}
	t, err := s.cfg.Throttles.UpdateThrottle(ctx, key, func(t *Throttle) error {
		if !t.LastFailure.IsZero() && now.Sub(t.LastFailure) > s.cfg.Login.Window {
			*t = Throttle{}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if now.Before(t.NotBefore) {
		wait := t.NotBefore.Sub(now).Round(time.Second)
		return Errorf(ERATELIMIT, "too many failed attempts; try again in %v", max(wait, time.Second))
	}
	return nil
}

// failure counts a failed attempt and sets the next allowed time: no
// delay for the first free ones, then BaseDelay doubling up to MaxDelay,
// and LockFor from lockAfter failures on.
func (s *ActivationService) failure(ctx context.Context, key string, free, lockAfter int, now time.Time) {
	if key == "" {
		return
	}
	p := s.cfg.Login
	_, err := s.cfg.Throttles.UpdateThrottle(ctx, key, func(t *Throttle) error {
		if !t.LastFailure.IsZero() && now.Sub(t.LastFailure) > p.Window {
			*t = Throttle{}
		}
		t.Failures++
		t.LastFailure = now
		switch n := t.Failures; {
		case n >= lockAfter:
			t.NotBefore = now.Add(p.LockFor)
		case n > free:
			d := p.BaseDelay << min(n-free-1, 20)
			t.NotBefore = now.Add(min(d, p.MaxDelay))
		}
		return nil
	})
	if err != nil {
		s.log.Error().Err(err).Msg("log-in throttle not updated")
	}
}

// checkSecret runs a throttled credential check: password (domain
// "password") or passcode ("passcode") of idNumber's account. It costs one
// argon2id whether or not the account exists. EUNAUTHORIZED for a wrong
// secret or an unknown/pending account, ERATELIMIT while throttled,
// EFORBIDDEN (only after a right secret) for a locked account.
func (s *ActivationService) checkSecret(ctx context.Context, domain, idNumber, secret, clientAddr string, ch Channel) (*Account, error) {
	now := s.now()
	acctKey, clientKey := s.throttleKeys(idNumber, clientAddr)
	action := AuditLogin
	subject := auditSubject(idNumber, "")
	if err := s.checkThrottle(ctx, clientKey, now); err != nil {
		s.audit(ctx, AuditEvent{Actor: "citizen", Channel: ch, Action: action, Subject: subject, Client: clientAddr, Outcome: OutcomeRateLimited, Detail: domain})
		return nil, err
	}
	if err := s.checkThrottle(ctx, acctKey, now); err != nil {
		s.audit(ctx, AuditEvent{Actor: "citizen", Channel: ch, Action: action, Subject: subject, Client: clientAddr, Outcome: OutcomeRateLimited, Detail: domain})
		return nil, err
	}
	a, err := s.cfg.Accounts.Account(ctx, idNumber)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	hash := s.dummyHash
	if a != nil {
		switch domain {
		case "password":
			hash = a.PasswordHash
		case "passcode":
			hash = a.PasscodeHash
		}
		if hash == "" || a.State == AccountPending {
			hash = s.dummyHash
		}
	}
	ok, verr := s.cfg.Hasher.Verify(ctx, domain, secret, hash)
	if verr != nil {
		return nil, verr
	}
	ok = ok && a != nil && hash != s.dummyHash
	if !ok {
		s.failure(ctx, acctKey, s.cfg.Login.FreeFailures, s.cfg.Login.LockAfter, now)
		s.failure(ctx, clientKey, s.cfg.Login.ClientFreeFailures, s.cfg.Login.ClientLockAfter, now)
		s.audit(ctx, AuditEvent{Actor: "citizen", Channel: ch, Action: action, Subject: subject, Client: clientAddr, Outcome: OutcomeMismatch, Detail: domain})
		return nil, errBadLogin()
	}
	if _, err := s.cfg.Throttles.UpdateThrottle(ctx, acctKey, func(t *Throttle) error { *t = Throttle{}; return nil }); err != nil {
		return nil, err
	}
	if a.State == AccountLocked {
		s.audit(ctx, AuditEvent{Actor: "citizen", Channel: ch, Action: action, Subject: subject, Client: clientAddr, Outcome: OutcomeRefused, Detail: "locked"})
		return nil, errLocked()
	}
	s.audit(ctx, AuditEvent{Actor: "citizen", Channel: ch, Action: action, Subject: subject, Client: clientAddr, Outcome: OutcomeOK, Detail: domain})
	return a, nil
}

// Login checks an ID number and password. Wrong ID number and wrong
// password answer alike (EUNAUTHORIZED) in about the same time; repeated
// failures bring growing delays then a temporary lock (ERATELIMIT), per
// account and per client address. A locked account answers EFORBIDDEN
// (only to the right password).
func (s *ActivationService) Login(ctx context.Context, idNumber, password, clientAddr string) (*LoginResult, error) {
	start := time.Now()
	defer padUntil(ctx, start, s.cfg.MinDuration)
	if !validIDShape(idNumber) {
		return nil, errBadLogin()
	}
	a, err := s.checkSecret(ctx, "password", idNumber, password, clientAddr, ChannelWeb)
	if err != nil {
		return nil, err
	}
	return &LoginResult{IDNumber: a.IDNumber, State: a.State, MustChangePassword: a.State == AccountPasswordChangeRequired}, nil
}

// ChangePassword sets a new password after checking the current one (the
// first log-in after a generated password ends here). EINVALID for a
// policy breach or the same password; otherwise as Login.
func (s *ActivationService) ChangePassword(ctx context.Context, idNumber, oldPassword, newPassword, clientAddr string) error {
	if !validIDShape(idNumber) {
		return errBadLogin()
	}
	if err := ValidatePassword(newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return Errorf(EINVALID, "password: the new password must differ from the current one")
	}
	if _, err := s.checkSecret(ctx, "password", idNumber, oldPassword, clientAddr, ChannelWeb); err != nil {
		return err
	}
	h, err := s.cfg.Hasher.Hash(ctx, "password", newPassword)
	if err != nil {
		return err
	}
	_, err = s.change(ctx, idNumber, ActChangePassword, ChannelWeb, "citizen", "", EventPasswordChanged, func(a *Account) { a.PasswordHash = h })
	return err
}

// ResetPassword sets a new password with a token from VerifyResetOTP.
// EUNAUTHORIZED for a used or expired token, EINVALID for a policy breach
// (the token stays usable), EFORBIDDEN for a locked account.
func (s *ActivationService) ResetPassword(ctx context.Context, token, newPassword string) error {
	id, err := s.peekToken(ctx, OTPPasswordReset, token)
	if err != nil {
		return err
	}
	if err := ValidatePassword(newPassword); err != nil {
		return err
	}
	h, err := s.cfg.Hasher.Hash(ctx, "password", newPassword)
	if err != nil {
		return err
	}
	if err := s.takeToken(ctx, OTPPasswordReset, token, id); err != nil {
		return err
	}
	_, err = s.change(ctx, id, ActResetPassword, ChannelWeb, "citizen", "", EventPasswordChanged, func(a *Account) { a.PasswordHash = h })
	return err
}

// ResetPasswordByUSSD is "forgot password" from a USSD session: the
// network proves the phone, the citizen keys the ID number and passcode
// (throttled like a log-in); a generated password goes by SMS and must be
// changed at the next web log-in. ENOTFOUND alike for an unknown ID number
// and another phone's; EUNAUTHORIZED for a wrong passcode.
func (s *ActivationService) ResetPasswordByUSSD(ctx context.Context, phone, idNumber, passcode string) error {
	start := time.Now()
	defer padUntil(ctx, start, s.cfg.MinDuration)
	msisdn, _, err := s.ussdMatch(ctx, phone, idNumber, AuditPasswordReset)
	if err != nil {
		return err
	}
	a, err := s.checkSecret(ctx, "passcode", idNumber, passcode, "ussd:"+msisdn, ChannelUSSD)
	if err != nil {
		return err
	}
	if _, err := a.State.Transition(ActResetPasswordUSSD); err != nil {
		return err
	}
	pw, err := GeneratePassword()
	if err != nil {
		return err
	}
	h, err := s.cfg.Hasher.Hash(ctx, "password", pw)
	if err != nil {
		return err
	}
	if _, err := s.change(ctx, idNumber, ActResetPasswordUSSD, ChannelUSSD, "citizen", "", EventPasswordChanged, func(a *Account) { a.PasswordHash = h }); err != nil {
		return err
	}
	return s.sendNotice(ctx, msisdn, GeneratedPasswordText(pw))
}
