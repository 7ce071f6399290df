package core

import "context"

// LockByPhone locks the account held by the calling phone (USSD: the
// network proves the phone) at once and sends a notice with the hotline.
// ENOTFOUND if the phone holds no account; ECONFLICT if it is not active
// or already locked.
func (s *ActivationService) LockByPhone(ctx context.Context, phone string) error {
	msisdn, err := NormalizeMSISDN(phone)
	if err != nil {
		return err
	}
	a, err := s.cfg.Accounts.AccountByPhone(ctx, msisdn)
	if err != nil {
		return err
	}
	return s.lock(ctx, a.IDNumber, ChannelUSSD, "citizen", "reported by the phone's holder")
}

// LockByCitizen locks an account from the web after checking its password
// (throttled as a log-in).
func (s *ActivationService) LockByCitizen(ctx context.Context, idNumber, password, clientAddr string) error {
	if !validIDShape(idNumber) {
		return errBadLogin()
	}
	if _, err := s.checkSecret(ctx, "password", idNumber, password, clientAddr, ChannelWeb); err != nil {
		return err
	}
	return s.lock(ctx, idNumber, ChannelWeb, "citizen", "reported by the citizen")
}

// LockByAgent locks an account from the agent console; agent names the
// agent for the audit, reason is free text without secrets.
func (s *ActivationService) LockByAgent(ctx context.Context, agent, idNumber, reason string) error {
	if !validIDShape(idNumber) {
		return errBadIDNumber()
	}
	return s.lock(ctx, idNumber, ChannelAgent, "agent:"+agent, reason)
}

func (s *ActivationService) lock(ctx context.Context, idNumber string, ch Channel, actor, reason string) error {
	a, err := s.change(ctx, idNumber, ActLock, ch, actor, reason, EventLocked, nil)
	if err != nil {
		return err
	}
	return s.sendNotice(ctx, a.Phone, LockNoticeText())
}

// UnlockByAgent unlocks a locked account (agents only; a citizen unlocks
// by activating again). ECONFLICT if it is not locked.
func (s *ActivationService) UnlockByAgent(ctx context.Context, agent, idNumber, reason string) error {
	if !validIDShape(idNumber) {
		return errBadIDNumber()
	}
	_, err := s.change(ctx, idNumber, ActUnlock, ChannelAgent, "agent:"+agent, reason, EventUnlocked, nil)
	return err
}
