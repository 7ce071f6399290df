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
// Delivery semantics. A part is "possibly sent" once its submit_sm is
// handed to a bound session, and from then on it is never resent on a live
// connection: without a submit_sm_resp within ResponseTimeout it is recorded
// as core.EventUnknown and settled later by its delivery receipt or by a
// late submit_sm_resp (timed-out sequence numbers are remembered for
// max(10×ResponseTimeout, 1 min)). When a connection drops, parts whose
// frames the writer never took go back to the queue; the others become
// unknown immediately (at most once: the SMSC may have them, and a DLR
// settles them), or, with Config.ResendOnDrop, go back to the queue too (at
// least once, duplicates bounded by the window). Parts never handed to a
// session (bind down, shutdown, throttling, system errors) go back with
// Queue.Retry, and a retry or a restart sends only the parts still queued.
//
// Goroutines: Gateway.Run owns one goroutine per bind; each bind owns its
// connection loop, its sender, its completer (which batches outcomes into
// Queue.Record / Queue.Retry), its settler (with a queue that can start a
// Record and wait for it later, as core/store's can, the completer starts
// each round's Record in order and the settler waits for them in the same
// order before answering receipts, re-queueing retries and freeing the
// unsettled slots: at most maxSettling rounds in flight) and its USSD
// handler calls; each session owns a
// reader, a writer, a timer (response timeouts, enquire_link) and an inbound
// worker (DLRs: deliver_sm_resp only after Record returned). Run returns only
// after all of them stopped.
package gateway
