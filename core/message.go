package core

import "time"

// Kind says why a message exists; it decides its priority lane.
type Kind string

const (
	KindOTP      Kind = "otp"
	KindNotice   Kind = "notice"
	KindApproval Kind = "approval"
)

// Priority is a queue lane; a lower value is sent first. An OTP never waits
// behind approvals.
type Priority uint8

const (
	PriorityOTP      Priority = 0
	PriorityNotice   Priority = 1
	PriorityApproval Priority = 2
	NumPriorities             = 3
)

// PriorityOf returns the lane of a kind.
func PriorityOf(k Kind) Priority {
	switch k {
	case KindOTP:
		return PriorityOTP
	case KindNotice:
		return PriorityNotice
	default:
		return PriorityApproval
	}
}

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	return k == KindOTP || k == KindNotice || k == KindApproval
}

// Status is a message's (or one part's) place in its lifecycle:
// queued → submitted → delivered | undeliverable | expired | rejected,
// plus unknown when the SMSC never answered a submit (settled by its DLR).
type Status string

const (
	StatusQueued        Status = "queued"
	StatusSubmitted     Status = "submitted"
	StatusDelivered     Status = "delivered"
	StatusUndeliverable Status = "undeliverable"
	StatusExpired       Status = "expired"
	StatusRejected      Status = "rejected"
	StatusUnknown       Status = "unknown"
)

// Final reports whether no further status can follow s.
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusUndeliverable, StatusExpired, StatusRejected:
		return true
	}
	return false
}

// Hop is one entry of a message's status history.
type Hop struct {
	Status     Status    `json:"status"`
	At         time.Time `json:"at"`
	Part       int       `json:"part,omitempty"`        // 1-based part number; 0 = the whole message
	Operator   string    `json:"operator,omitempty"`    // operator route used
	Bind       string    `json:"bind,omitempty"`        // bind name (operator/index)
	SMSCID     string    `json:"smsc_id,omitempty"`     // message id given by the SMSC
	SMPPStatus uint32    `json:"smpp_status,omitempty"` // command_status of the response, if not 0
	ErrorCode  string    `json:"error_code,omitempty"`  // DLR err: field or our own reason
}

// PartState is the state of one SMS segment of a message.
type PartState struct {
	Status Status `json:"status"`
	SMSCID string `json:"smsc_id,omitempty"`
}

// Message is one text to one phone, split into one or more SMS parts.
type Message struct {
	ID            string        `json:"id"`
	Kind          Kind          `json:"kind"`
	Priority      Priority      `json:"priority"`
	To            string        `json:"to"`       // normalised MSISDN, 84 + 9 digits
	Sender        string        `json:"sender"`   // source address, e.g. "VneID"
	Text          string        `json:"text"`     // as it will be encoded (diacritics already stripped where GSM-7)
	Operator      string        `json:"operator"` // route chosen at accept time
	ConcatRef     uint8         `json:"concat_ref"`
	Validity      time.Duration `json:"validity,omitempty"` // SMPP validity period; 0 = SMSC default
	ApplicationID string        `json:"application_id,omitempty"`
	ClientID      string        `json:"client_id,omitempty"` // API key id that submitted it
	CallbackURL   string        `json:"callback_url,omitempty"`
	Reference     string        `json:"reference,omitempty"` // caller's free reference, echoed in reports
	CreatedAt     time.Time     `json:"created_at"`
	Status        Status        `json:"status"`
	Parts         []PartState   `json:"parts"`
	History       []Hop         `json:"history"`
	Attempts      int           `json:"attempts"` // submit attempts that ended in a retryable error
	QueueSeq      uint64        `json:"-"`        // position in its lane; set by the store
}

// Expired reports whether the message's validity has passed at now, so it
// must not be sent any more.
func (m *Message) Expired(now time.Time) bool {
	return m.Validity > 0 && now.After(m.CreatedAt.Add(m.Validity))
}

// Report is a final-status notice owed to the upstream caller (the signed
// webhook and the message's callback_url). Reports are kept durably until
// the receiver acknowledges them.
type Report struct {
	Seq           uint64    `json:"-"` // outbox position; set by the store
	MessageID     string    `json:"message_id"`
	Kind          Kind      `json:"kind"`
	ApplicationID string    `json:"application_id,omitempty"`
	Reference     string    `json:"reference,omitempty"`
	To            string    `json:"to"`
	Status        Status    `json:"status"`
	ErrorCode     string    `json:"error_code,omitempty"`
	At            time.Time `json:"at"`
	ClientID      string    `json:"-"`
	CallbackURL   string    `json:"-"`
	Attempts      int       `json:"-"`
}
