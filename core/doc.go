// Package core is vneidgw's domain: approved applications, messages and their
// status lifecycle, the outbound queue's contract, phone-number normalisation,
// operator routing, GSM 03.38 / UCS-2 text encoding and segmentation, and the
// small error vocabulary every other package speaks.
//
// It also holds the citizen's account journey, written once for every
// channel (USSD, web, API): accounts and their state machine (account.go),
// one-time codes (otp.go), credentials and their hashing (credentials.go),
// activation, log-in, forgot password, lock and unlock (activation.go,
// login.go, lock.go) and the audit trail (audit.go). The storage these need
// is declared in activation_store.go.
//
// core imports no I/O library. The storage it needs is described by the
// interfaces in store.go; core/store implements them on Badger. Transports
// (gateway, ussd, web) call core's services and never hold business rules.
package core
