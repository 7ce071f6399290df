package core

import (
	"context"
	"time"
)

// The storage the activation services need, kept narrow so that a second
// backend (Redis) is a package. Read-modify-write goes through callbacks run
// inside one transaction: the rules stay in core, atomicity in the store.
// A callback may run more than once (optimistic-transaction retry) and must
// have no side effects besides its return values and the value it edits.

// AccountEvent is a state change announced to the identity system through
// the account-event webhook. It is written to the outbox in the same
// transaction as the account change it reports.
type AccountEvent struct {
	ID       string       `json:"id"`   // time-ordered; the webhook's idempotency key
	Type     string       `json:"type"` // activated, locked, unlocked, password_changed
	IDNumber string       `json:"id_number"`
	State    AccountState `json:"state"` // the state after the change
	Channel  Channel      `json:"channel"`
	At       time.Time    `json:"at"`
	Attempts int          `json:"attempts"` // deliveries tried so far (kept by the outbox)
}

// Account event types.
const (
	EventActivated       = "activated"
	EventLocked          = "locked"
	EventUnlocked        = "unlocked"
	EventPasswordChanged = "password_changed"
)

// AccountStore keeps accounts, one per ID number and one per phone number.
type AccountStore interface {
	// CreateAccount stores a new pending account. It returns created=false
	// and no error when an account with the same ID number and phone exists
	// (idempotent), and ECONFLICT when the phone holds another ID number's
	// account or the ID number's account has another phone.
	CreateAccount(ctx context.Context, a *Account) (created bool, err error)
	// CreateAccounts is CreateAccount for many accounts in as few
	// transactions as possible (bulk approvals). created[i] and errs[i]
	// answer accounts[i]; err is a storage failure (nothing reliable written).
	CreateAccounts(ctx context.Context, accounts []*Account) (created []bool, errs []error, err error)
	// Account returns the account of an ID number (ENOTFOUND).
	Account(ctx context.Context, idNumber string) (*Account, error)
	// AccountByPhone returns the account held by a phone number (ENOTFOUND).
	AccountByPhone(ctx context.Context, phone string) (*Account, error)
	// UpdateAccount runs fn on the current account (ENOTFOUND if none) and,
	// when fn returns no error, stores the edited account and, if fn returns
	// one, the outbox event, in one transaction. The phone is immutable.
	UpdateAccount(ctx context.Context, idNumber string, fn func(a *Account) (*AccountEvent, error)) (*Account, error)
}

// OTPRecord is one short-lived secret: an OTP (its keyed hash) or an
// activation token (Subject = ID number). Hash nil means "no live code"
// (burned or used) while the record still holds the cool-down.
type OTPRecord struct {
	Hash      []byte    `json:"h,omitempty"`
	Subject   string    `json:"s,omitempty"`
	IssuedAt  time.Time `json:"i"`
	ExpiresAt time.Time `json:"e"`
	Attempts  int       `json:"a,omitempty"`
	// KeepFor is how long after IssuedAt the store must keep the record
	// (max of lifetime and cool-down); it may drop it after.
	KeepFor time.Duration `json:"k"`
}

// DailyCharge asks to count one more use of a daily counter whose limit is
// Limit (0 = no limit, the charge is still counted).
type DailyCharge struct {
	Key   string // opaque, free of personal data (a keyed hash)
	Limit int
}

// OTPStore keeps OTP records and daily counters.
type OTPStore interface {
	// IssueOTP runs fn on the record under key (nil if none); when fn
	// returns a record, it charges every daily counter of day and stores the
	// record, all in one transaction. If any counter is at its limit nothing
	// is written and the error is ERATELIMIT. An error from fn aborts.
	IssueOTP(ctx context.Context, key, day string, charges []DailyCharge, fn func(cur *OTPRecord) (*OTPRecord, error)) error
	// UpdateOTP runs fn on the record under key (nil if none) and stores its
	// result atomically: a record replaces, nil deletes. fn's error is
	// returned after the write it asked for is committed when commit is
	// true (a wrong guess must count even though the answer is an error).
	UpdateOTP(ctx context.Context, key string, fn func(cur *OTPRecord) (next *OTPRecord, commit bool, err error)) error
	// ChargeDaily counts one use of each counter of day, all or nothing
	// (ERATELIMIT when one is at its limit).
	ChargeDaily(ctx context.Context, day string, charges []DailyCharge) error
}

// OTPSMSIssuer is an OTPStore that can queue the code's SMS in the same
// durable write as the record and its daily charges: one commit on the
// OTP's path instead of two, and no code stored whose SMS was not queued.
type OTPSMSIssuer interface {
	OTPStore
	// IssueOTPWithSMS is IssueOTP; when fn returns a record and sms is not
	// nil, sms is accepted in the same write (the result is its
	// AcceptResult). Nothing is written if any part fails.
	IssueOTPWithSMS(ctx context.Context, key, day string, charges []DailyCharge, fn func(cur *OTPRecord) (*OTPRecord, error), sms *AcceptRequest) (AcceptResult, error)
}

// Throttle is the log-in failure state of one account or client address.
type Throttle struct {
	Failures    int       `json:"f"`
	LastFailure time.Time `json:"l"`
	NotBefore   time.Time `json:"n"` // no attempt is evaluated before this time
}

// ThrottleStore keeps log-in throttles (per account, per client address).
type ThrottleStore interface {
	// UpdateThrottle runs fn on the throttle of key (zero value if none) and
	// stores the result atomically; a zero Throttle deletes the record.
	UpdateThrottle(ctx context.Context, key string, fn func(t *Throttle) error) (Throttle, error)
}

// AccountEventOutbox is the durable queue of account events for the
// identity system's webhook. Events enter it through AccountStore.UpdateAccount.
type AccountEventOutbox interface {
	// Pending returns up to max events due at now, oldest due first.
	Pending(ctx context.Context, now time.Time, max int) ([]AccountEvent, error)
	// Ack removes a delivered event (no error if already gone).
	Ack(ctx context.Context, id string) error
	// Retry counts a failed delivery and makes the event due again at at
	// (ENOTFOUND if gone).
	Retry(ctx context.Context, id string, at time.Time) error
	// Len is the number of events waiting (for a gauge).
	Len(ctx context.Context) (int, error)
}
