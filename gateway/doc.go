// Package gateway is vneidgw's SMPP 3.4 engine towards the mobile operators.
//
// It owns the binds (connect, bind, enquire_link, reconnect with capped
// back-off), the windowed and pipelined submit_sm path fed by core.Queue,
// per-bind TPS caps, the classification of command_status values (status.go),
// delivery-receipt parsing (dlr.go) and USSD-over-SMPP (ussd.go). It uses only
// go-smpp's pdu codec for decoding; frames are read by frame.go and the hot
// PDUs are encoded by wire.go. It never decides business rules: messages come
// from the queue already routed and encoded text comes from core.EncodeText.
//
// Delivery semantics. A part is "possibly sent" once its submit_sm is handed
// to a bound session. From then on it is never resent: if no submit_sm_resp
// arrives within ResponseTimeout, or the connection drops before the
// response, the part is recorded as core.EventUnknown and settled later by its
// delivery receipt (or by a late submit_sm_resp, which is still matched for a
// while after the timeout). Parts that were never handed to a session (bind
// down, shutdown, throttling) go back to the queue with Retry, and a retry
// sends only the parts still queued. So nothing is sent twice by the gateway
// itself; after a crash the store re-leases messages whose parts were not
// yet recorded, which bounds duplicates by the in-flight window.
//
// Goroutines: Gateway.Run owns one goroutine per bind; each bind owns its
// connection loop, its sender, its completer (which batches outcomes into
// Queue.Record / Queue.Retry) and its USSD handler calls; each session owns a
// reader, a writer, a timer (response timeouts, enquire_link) and an inbound
// worker (DLRs: deliver_sm_resp only after Record returned). Run returns only
// after all of them stopped.
package gateway
