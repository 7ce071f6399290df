package core

import (
	"context"
	"time"
)

// Channel is where a request came from.
type Channel string

const (
	ChannelUSSD  Channel = "ussd"
	ChannelWeb   Channel = "web"
	ChannelAPI   Channel = "api"
	ChannelAgent Channel = "agent"
)

// Audit actions.
const (
	AuditAccountCreated = "account_created"
	AuditOTPIssue       = "otp_issue"
	AuditOTPVerify      = "otp_verify"
	AuditActivate       = "activate"
	AuditLogin          = "login"
	AuditPasswordChange = "password_change"
	AuditPasswordReset  = "password_reset"
	AuditLock           = "lock"
	AuditUnlock         = "unlock"
)

// Audit outcomes. Internal detail (for instance that an ID number is unknown)
// may appear here: the audit log is for agents and operators, never shown to
// the caller.
const (
	OutcomeOK          = "ok"
	OutcomeRefused     = "refused"      // a state-machine or policy refusal
	OutcomeRateLimited = "rate_limited" // cap, cool-down or throttle
	OutcomeMismatch    = "mismatch"     // a live code or credential compared and was wrong
	OutcomeNoCode      = "no_code"      // no live code: expired, burned, used or never issued
	OutcomeNoMatch     = "no_match"     // (ID, phone) pair does not match a suitable account; nothing sent
	OutcomeError       = "error"        // a store or dependency failure
)

// AuditEvent records who did what to whom, through which channel, and how
// it ended. It never holds a secret (OTP, password, passcode, answer, token)
// nor a full ID number: Subject is masked (MaskIDNumber / MaskMSISDN).
type AuditEvent struct {
	ID      string    `json:"id"`               // time-ordered, set by the recorder when empty
	At      time.Time `json:"at"`               // when
	Actor   string    `json:"actor"`            // "citizen", "agent:<name>", "api:<client>", "system"
	Channel Channel   `json:"channel"`          // ussd, web, api, agent
	Action  string    `json:"action"`           // one of the Audit* constants
	Subject string    `json:"subject"`          // masked ID number and/or phone
	Client  string    `json:"client,omitempty"` // client address (IP or USSD session origin)
	Outcome string    `json:"outcome"`          // one of the Outcome* constants
	Detail  string    `json:"detail,omitempty"` // free text without secrets, e.g. "pending_activation→active"
}

// AuditLog stores audit events. Implementations must be safe for concurrent
// use.
type AuditLog interface {
	// Record appends ev (assigning ev.ID when empty).
	Record(ctx context.Context, ev AuditEvent) error
	// RecordBatch appends many events in one write (assigning IDs).
	RecordBatch(ctx context.Context, evs []AuditEvent) error
	// Events lists events newest first; cursor is "" for the first page or
	// a previous call's next ("" at the end).
	Events(ctx context.Context, cursor string, limit int) (events []AuditEvent, next string, err error)
}

// auditSubject masks an ID number and a phone for an audit subject.
func auditSubject(idNumber, phone string) string {
	switch {
	case idNumber != "" && phone != "":
		return "id:" + MaskIDNumber(idNumber) + " phone:" + MaskMSISDN(phone)
	case idNumber != "":
		return "id:" + MaskIDNumber(idNumber)
	case phone != "":
		return "phone:" + MaskMSISDN(phone)
	}
	return ""
}
