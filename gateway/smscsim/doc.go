// Package smscsim is an SMSC simulator: a real SMPP 3.4 server on TCP for
// tests, benchmarks and the demo.
//
// It owns everything an operator's SMSC would do towards vneidgw: binds
// (transceiver, transmitter, receiver) with credential checks, enquire_link,
// unbind, submit_sm answered with a message id (hex or decimal), delivery
// receipts (deliver_sm, text and TLV forms) routed to a receiver-capable bind
// of the same system_id and retransmitted when not acknowledged, reassembly
// of concatenated texts into a per-phone inbox, duplicate detection, and
// USSD sessions originated from a simulated handset.
//
// Faults (throttling, queue full, rejections, undeliverable receipts,
// delayed or missing responses, receipts before responses, sequence-number
// collisions, unknown PDUs, dropped connections, TPS caps) are set in Config
// or at run time with SetFaults, so the gateway's client can be proven
// against an SMSC that misbehaves the way real ones do.
//
// Frames are read by the package itself (4-byte length, capped at 64 KiB).
// Binds are decoded with go-smpp's pdu codec under a recover; submit_sm,
// the hot path, goes through a one-pass parser (parse.go) that FuzzReadPDU
// checks against go-smpp's decoder (decode.go). Anything unknown or
// undecodable is answered with generic_nack (0x03 unknown command id, 0x02
// bad length or body) and the bind stays up. PDUs the simulator sends
// (submit_sm_resp, deliver_sm, ...) are appended by hand (encode.go) to a
// per-connection buffer that one writer goroutine flushes when idle; the
// tests decode every kind with go-smpp.
//
// Goroutines: Start owns one acceptor and one scheduler (timed responses,
// delayed receipts, retransmits); each connection has one reader and one
// writer. Close stops and waits for all of them.
package smscsim
