package core

import "time"

// Sex as recorded in the population database.
type Sex string

const (
	SexMale   Sex = "male"
	SexFemale Sex = "female"
)

// Application is an approved e-ID application handed over by the identity
// system. It is stored once per ApplicationID (the idempotency key of
// POST /api/v1/approvals).
type Application struct {
	ApplicationID string    `json:"application_id"`
	IDNumber      string    `json:"id_number"`     // 12 digits; never logged in full
	FullName      string    `json:"full_name"`     // as registered, with diacritics
	DateOfBirth   string    `json:"date_of_birth"` // YYYY-MM-DD
	Sex           Sex       `json:"sex"`
	Phone         string    `json:"phone"`                  // normalised MSISDN (84 + 9 digits)
	Level         int       `json:"level"`                  // 1 or 2
	CallbackURL   string    `json:"callback_url,omitempty"` // optional per-message delivery report URL
	ClientID      string    `json:"client_id,omitempty"`
	MessageID     string    `json:"message_id,omitempty"` // the approval SMS
	ReceivedAt    time.Time `json:"received_at"`
}
