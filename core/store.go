package core

import (
	"context"
	"time"
)

// AcceptRequest is one message to store and queue, optionally with the
// application it announces.
type AcceptRequest struct {
	Message     *Message
	Application *Application // set for approvals; idempotent on ApplicationID
	// IdempotencyKey, if set, makes the request idempotent per ClientID
	// (Message.ClientID): a repeat returns the first message.
	IdempotencyKey string
}

// AcceptResult answers one AcceptRequest.
type AcceptResult struct {
	MessageID string
	Duplicate bool // an earlier request with the same application id / idempotency key exists; nothing new was written
}

// MessageStore keeps messages, applications and their indexes.
type MessageStore interface {
	// Accept stores every request's message (and application) and puts the
	// message on its operator's priority lane. It returns once all of it is
	// on disk (writes are grouped across concurrent callers). Results are in
	// request order.
	Accept(ctx context.Context, reqs []AcceptRequest) ([]AcceptResult, error)
	// Message returns a message by id (ENOTFOUND).
	Message(ctx context.Context, id string) (*Message, error)
	// MessagesByPhone lists a phone's messages newest first. cursor is ""
	// for the first page or a previous call's next; next is "" at the end.
	MessagesByPhone(ctx context.Context, phone, cursor string, limit int) (msgs []*Message, next string, err error)
	// Application returns an application by its id (ENOTFOUND).
	Application(ctx context.Context, applicationID string) (*Application, error)
}

// EventKind says what happened to a message part.
type EventKind uint8

const (
	// EventSubmitted: the SMSC accepted a part (SMSCID set).
	EventSubmitted EventKind = iota + 1
	// EventRejected: the SMSC refused a part with a final status, or retries
	// ran out; the whole message becomes rejected.
	EventRejected
	// EventUnknown: no submit_sm_resp within the response timeout; the part
	// is not resent and is settled by its DLR (or a late response).
	EventUnknown
	// EventDLR: a delivery receipt for SMSCID arrived (MessageID may be
	// empty: the store correlates by Operator + SMSCID, decimal or hex).
	EventDLR
	// EventExpired: the message's validity passed before it could be sent.
	EventExpired
)

// Event is a change to a message reported by the gateway.
type Event struct {
	Kind       EventKind
	MessageID  string
	Part       int // 1-based
	Operator   string
	Bind       string
	SMSCID     string
	SMPPStatus uint32
	Status     Status // for EventDLR: delivered, undeliverable, expired or rejected
	ErrorCode  string
	Phone      string // for EventDLR: the handset (source_addr), to settle unknown parts
	At         time.Time
}

// Queue is the durable outbound queue as the gateway's senders see it.
//
// Messages handed out by Next are leased to the caller: they stay on disk
// and come back after a restart until events settle every part. The
// caller must end every lease with Record (a final or submitted/unknown
// event for each part) or Retry.
type Queue interface {
	// Next blocks until at least one message is due on one of the lanes of
	// the given operators, then returns up to max of them, highest priority
	// first and in accept order within a priority (retries first). It
	// returns ctx.Err() when ctx ends.
	Next(ctx context.Context, operators []string, max int) ([]*Message, error)
	// Retry returns a leased message to the head of its lane, due at at.
	Retry(m *Message, at time.Time)
	// Record applies events and returns once they are on disk. A message
	// whose every part is submitted, unknown or final leaves the queue; a
	// message reaching a final status produces a Report.
	Record(ctx context.Context, events []Event) error
	// Backlog returns the number of queued (not yet leased) messages per
	// operator and priority.
	Backlog() map[string][NumPriorities]int
}

// ReportOutbox holds final-status reports until the upstream receiver has
// them.
type ReportOutbox interface {
	// PendingReports blocks until at least one report is due and returns
	// up to max of them, oldest first.
	PendingReports(ctx context.Context, max int) ([]Report, error)
	// AckReports removes delivered reports.
	AckReports(ctx context.Context, seqs []uint64) error
	// RetryReports makes reports due again at at (Attempts incremented).
	RetryReports(ctx context.Context, reports []Report, at time.Time) error
}

// APIKey is an upstream client's credential. Only a hash of the secret is
// stored.
type APIKey struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	SecretHash []byte    `json:"secret_hash"` // SHA-256 of the secret part
	CreatedAt  time.Time `json:"created_at"`
	Disabled   bool      `json:"disabled,omitempty"`
}

// KeyStore keeps API keys.
type KeyStore interface {
	PutAPIKey(ctx context.Context, k *APIKey) error
	APIKey(ctx context.Context, id string) (*APIKey, error) // ENOTFOUND
	APIKeys(ctx context.Context) ([]*APIKey, error)
}

// PortedStore keeps the ported-number table (MSISDN → operator).
type PortedStore interface {
	PutPorted(ctx context.Context, entries map[string]string) error
	DeletePorted(ctx context.Context, msisdns []string) error
	Ported(ctx context.Context) (map[string]string, error)
}
