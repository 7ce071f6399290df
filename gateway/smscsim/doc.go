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
// Frames are read by the package itself (4-byte length, capped at 64 KiB)
// and decoded with go-smpp's pdu codec under a recover; anything unknown or
// undecodable is answered with generic_nack and the bind stays up. The hot
// responses (submit_sm_resp, deliver_sm) are encoded by hand into a
// per-connection buffer that one writer goroutine flushes when idle.
//
// Goroutines: Start owns one acceptor and one scheduler (timed responses,
// delayed receipts, retransmits); each connection has one reader and one
// writer. Close stops and waits for all of them.
package smscsim
