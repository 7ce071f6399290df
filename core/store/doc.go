// Package store is the Badger implementation of core's storage interfaces:
// core.MessageStore, core.Queue, core.ReportOutbox, core.KeyStore and
// core.PortedStore, all on one *Store.
//
// It owns:
//   - the Badger database (options tuned for a small memory footprint and
//     few bytes written: records of 256 bytes or more, messages and
//     accounts, live in the value log, written once; the LSM tree holds the
//     small records and pointers) and its value-log GC goroutine, which
//     reclaims the versions a message's status changes supersede;
//   - the group-commit writer (writer.go): one goroutine takes every write
//     request (Accept, Record, report ack/retry, API keys, ported numbers),
//     drains what is queued, applies it in one or a few transactions and
//     commits them (one fsync for the whole group); a finisher goroutine
//     answers the committed batches in order while the writer applies the
//     next. Ops have a class: an OTP's accept is express (taken before
//     anything else, in a batch of its own, and a normal batch being applied
//     stops between two ops to let one in); events and report acks are
//     taken before queued bulk work (they hold the gateway's unsettled
//     slots); bulk ops (accepts, keys, ported numbers) keep their order, at
//     most maxBulkItems per batch. RecordStart lets a caller start Records
//     in order and wait for them later. All read-modify-writes of a message
//     are serialised on the writer. The writer opens no Badger transaction
//     on its path (a new one waits for every commit in flight): it reads
//     through a snapshot taken in the background plus the overlays of the
//     batches committed since, and writes with transactions from a stock
//     (snapshot.go);
//   - the express journal (journal.go): an express batch is also written
//     synchronously to a small file of its own, and its OTPs are offered
//     to the scheduler once it is there, without waiting for Badger's
//     write queue; batches Badger lacks after a crash are applied from it
//     at Open;
//   - the queue scheduler: per (operator, priority) lane an in-memory FIFO of
//     bounded length plus a disk cursor, a delay heap for retries and
//     per-lane backlog counters; a refiller goroutine (refill.go) reads
//     spilled lanes back from disk outside the scheduler's lock and hands
//     the records it read to the writer's message cache, which takes those
//     no later batch wrote (refill_cache.go), so their events need no read;
//   - the key filter (keyfilter.go): an in-memory scalable bloom filter of
//     the application, idempotency, account and phone keys, loaded by a
//     scan at Open, so that the lookups of new ones (nearly all) skip
//     Badger; account creations that skip a lookup hold per-key claims
//     (account_claims.go) in place of Badger's conflict detection;
//   - the report outbox's due-time heap;
//   - the binary record codec (codec.go) and the key layout (keys.go).
//
// The activation stores share the database through DB() as separate types:
// AccountStore (accounts, phone ownership, log-in throttles), OTPStore (OTP
// records and daily counters), AuditLog and AccountEventOutbox (the
// account-event webhook's durable queue). Their key prefixes all begin with
// "x" (activation_keys.go); the message side's are single letters (keys.go).
package store
