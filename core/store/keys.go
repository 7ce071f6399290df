package store

import (
	"encoding/binary"
	"math"
	"time"

	"vneidgw/core"
)

// Key prefixes. Every key of the database starts with one of these; no
// prefix may be a prefix of another (TestKeyPrefixesDisjoint checks). Files
// added later register theirs here.
const (
	pfxMessage     = "m/" // m/<id> → message record (codec.go)
	pfxQueue       = "q/" // q/<operator>/<priority byte>/<seq u64 BE> → message id
	pfxPhone       = "p/" // p/<phone>/<inverted ts u64 BE>/<id> → empty
	pfxApplication = "a/" // a/<application id> → application record
	pfxIdempotency = "i/" // i/<client id>/<key> → message id
	pfxCorrelation = "c/" // c/<operator>/<canonical smsc id> → part + message id
	pfxPendingDLR  = "d/" // d/<operator>/<canonical smsc id> → DLR event (TTL 1 h)
	pfxUnknown     = "u/" // u/<phone>/<id>/<part u16 BE> → unix nanos of the unknown event
	pfxReport      = "r/" // r/<seq u64 BE> → report record with due time
	pfxAPIKey      = "k/" // k/<id> → JSON APIKey
	pfxPorted      = "n/" // n/<msisdn> → operator
	pfxCounter     = "s/" // s/<name> → u64 BE counter
)

// allPrefixes lists every prefix for the disjointness test.
func allPrefixes() []string {
	return []string{
		pfxMessage, pfxQueue, pfxPhone, pfxApplication, pfxIdempotency, pfxCorrelation,
		pfxPendingDLR, pfxUnknown, pfxReport, pfxAPIKey, pfxPorted, pfxCounter,
	}
}

// Counter keys (s/<name>), each a u64 BE: the last sequence number handed out.
const (
	keyQueueSeq  = pfxCounter + "queue"
	keyReportSeq = pfxCounter + "report"
	// keyJournal: epoch and seq (u64 BE each) of the last batch of the
	// express journal written to the database (journal.go).
	keyJournal = pfxCounter + "journal"
)

func cat(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n+8)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func messageKey(id string) []byte { return cat(pfxMessage, id) }

func applicationKey(appID string) []byte { return cat(pfxApplication, appID) }

func idempotencyKey(client, key string) []byte { return cat(pfxIdempotency, client, "/", key) }

func apiKeyKey(id string) []byte { return cat(pfxAPIKey, id) }

func portedKey(msisdn string) []byte { return cat(pfxPorted, msisdn) }

// queuePrefix is q/<operator>/<prio>/.
func queuePrefix(op string, prio core.Priority) []byte {
	b := cat(pfxQueue, op, "/")
	return append(b, byte(prio), '/')
}

func queueKey(op string, prio core.Priority, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(queuePrefix(op, prio), seq)
}

// parseQueueKey splits q/<op>/<prio>/<seq>.
func parseQueueKey(k []byte) (op string, prio core.Priority, seq uint64, ok bool) {
	if len(k) < len(pfxQueue)+1+1+1+1+8 || string(k[:len(pfxQueue)]) != pfxQueue {
		return "", 0, 0, false
	}
	n := len(k)
	if k[n-9] != '/' || k[n-11] != '/' {
		return "", 0, 0, false
	}
	seq = binary.BigEndian.Uint64(k[n-8:])
	prio = core.Priority(k[n-10])
	if prio >= core.NumPriorities {
		return "", 0, 0, false
	}
	return string(k[len(pfxQueue) : n-11]), prio, seq, true
}

func phonePrefix(phone string) []byte { return cat(pfxPhone, phone, "/") }

// invertedTS makes newer times sort first.
func invertedTS(t time.Time) uint64 {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return math.MaxUint64 - uint64(n)
}

func phoneKey(phone string, created time.Time, id string) []byte {
	b := binary.BigEndian.AppendUint64(phonePrefix(phone), invertedTS(created))
	b = append(b, '/')
	return append(b, id...)
}

func correlationKey(op, canon string) []byte { return cat(pfxCorrelation, op, "/", canon) }

func pendingDLRKey(op, canon string) []byte { return cat(pfxPendingDLR, op, "/", canon) }

func unknownPrefix(phone string) []byte { return cat(pfxUnknown, phone, "/") }

func unknownKey(phone, id string, part int) []byte {
	b := cat(pfxUnknown, phone, "/", id, "/")
	return binary.BigEndian.AppendUint16(b, uint16(part))
}

// parseUnknownKey returns the id and part of u/<phone>/<id>/<part>.
func parseUnknownKey(k []byte, phone string) (id string, part int, ok bool) {
	p := len(pfxUnknown) + len(phone) + 1
	if len(k) < p+1+2 || k[len(k)-3] != '/' {
		return "", 0, false
	}
	return string(k[p : len(k)-3]), int(binary.BigEndian.Uint16(k[len(k)-2:])), true
}

func reportKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pfxReport), seq)
}
