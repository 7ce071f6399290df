// Package core is vneidgw's domain: approved applications, messages and their
// status lifecycle, the outbound queue's contract, phone-number normalisation,
// operator routing, GSM 03.38 / UCS-2 text encoding and segmentation, and the
// small error vocabulary every other package speaks.
//
// core imports no I/O library. The storage it needs is described by the
// interfaces in store.go; core/store implements them on Badger. Transports
// (gateway, ussd, web) call core's services and never hold business rules.
package core
