package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/core/store"
)

// services builds core's services on the store: the activation service
// (accounts, OTP, credentials) and the message service the API uses, which
// turns every accepted approval into an account.
func services(cfg Config, st *store.Store, router *core.Router, secret []byte, log zerolog.Logger) (*core.ActivationService, *core.OTPService, *core.MessageService, error) {
	// Texts the activation journey sends itself (OTPs, generated passwords,
	// lock notices) go through a message service of their own, so that the
	// API's service can depend on the activation service.
	sms, err := core.NewMessageService(core.MessageServiceConfig{Store: st, Ported: st, Router: router, Sender: cfg.Sender})
	if err != nil {
		return nil, nil, nil, err
	}
	db := st.DB()
	audit := store.NewAuditLog(db)
	accounts := st.AccountStore()
	oc := core.DefaultOTPConfig()
	oc.Key = derive(secret, "vneidgw otp key")
	oc.Lifetime, oc.Cooldown, oc.MaxAttempts = cfg.OTP.Lifetime, cfg.OTP.Cooldown, cfg.OTP.MaxAttempts
	oc.DailyPerPhone, oc.DailyPerIDNumber, oc.DailyPerClient = cfg.OTP.DailyPerPhone, cfg.OTP.DailyPerIDNumber, cfg.OTP.DailyPerClient
	otp, err := core.NewOTPService(oc, st.OTPStore(), sms, audit)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("configuration: otp: %w", err)
	}
	act, err := core.NewActivationService(core.ActivationConfig{
		Accounts: accounts, Throttles: accounts, Audit: audit, OTP: otp, SMS: sms,
		Hasher: core.NewHasher(core.DefaultArgon2Params(), derive(secret, "vneidgw password pepper"), 2),
		Log:    log.With().Str("component", "activation").Logger(),
	})
	if err != nil {
		return nil, nil, nil, err
	}
	msgs, err := core.NewMessageService(core.MessageServiceConfig{Store: st, Ported: st, Router: router, Sender: cfg.Sender, Accounts: act})
	if err != nil {
		return nil, nil, nil, err
	}
	return act, otp, msgs, nil
}

// derive returns a purpose-bound key from the server secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// serverSecret returns secret_key, or in demo mode the key kept in
// data_dir/demo-secret.key (created once), so that demo passwords survive a
// restart.
func serverSecret(cfg Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return []byte(cfg.SecretKey), nil
	}
	if !cfg.Demo {
		return nil, errors.New("secret_key: required")
	}
	path := filepath.Join(cfg.DataDir, "demo-secret.key")
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) >= 32 {
		return []byte(strings.TrimSpace(string(data))), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("demo secret %s: %w", path, err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo secret %s: %w", path, err)
	}
	return []byte(key), nil
}

// demoApplications are the clearly marked demo citizens seeded by --demo:
// their approval SMS lands in the simulator's inbox and their accounts wait
// for activation.
func demoApplications() []core.Application {
	return []core.Application{
		{ApplicationID: "DEMO-0001", IDNumber: "001085012345", FullName: "Nguyễn Văn An", DateOfBirth: "1985-03-02", Sex: core.SexMale, Phone: "0912345678", Level: 2},
		{ApplicationID: "DEMO-0002", IDNumber: "079192004321", FullName: "Trần Thị Bích", DateOfBirth: "1992-11-20", Sex: core.SexFemale, Phone: "0987654321", Level: 1},
		{ApplicationID: "DEMO-0003", IDNumber: "048201007777", FullName: "Lê Hoàng Đức", DateOfBirth: "2001-07-15", Sex: core.SexMale, Phone: "0901234567", Level: 2},
	}
}

// seedDemo submits the demo applications (idempotent across restarts).
func seedDemo(ctx context.Context, msgs *core.MessageService, clientID string) error {
	demo := demoApplications()
	apps := make([]*core.Application, len(demo))
	for i := range demo {
		apps[i] = &demo[i]
	}
	res, err := msgs.SubmitApprovals(ctx, clientID, apps)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("%s: %w", r.ApplicationID, r.Err)
		}
	}
	return nil
}

// demoKeyID is the id part of a vgw_<id>_<secret> token.
func demoKeyID(token string) string {
	rest, _ := strings.CutPrefix(token, "vgw_")
	id, _, _ := strings.Cut(rest, "_")
	return id
}
