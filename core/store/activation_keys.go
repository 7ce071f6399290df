package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// Key prefixes of the activation stores (accounts.go, otps.go, audit.go,
// account_events.go). They all start with "x", which no prefix of keys.go
// does, so the two sets cannot overlap (TestActivationPrefixesDisjoint).
const (
	pfxAccount      = "xa/"   // xa/<id number> → JSON core.Account
	pfxAccountPhone = "xp/"   // xp/<msisdn> → id number
	pfxOTP          = "xo/"   // xo/<key from core> → JSON core.OTPRecord (TTL KeepFor)
	pfxDaily        = "xc/"   // xc/<day>/<key from core> → u32 BE counter (TTL 48 h)
	pfxThrottle     = "xl/"   // xl/<key from core> → JSON core.Throttle (TTL 48 h)
	pfxAudit        = "xu/"   // xu/<time-ordered id> → JSON core.AuditEvent
	pfxEventQueue   = "xe/q/" // xe/q/<due unix nanos u64 BE><write seq u64 BE><event id> → JSON core.AccountEvent
	pfxEventIndex   = "xe/i/" // xe/i/<event id> → due + write seq (16 bytes)
)

func activationPrefixes() []string {
	return []string{pfxAccount, pfxAccountPhone, pfxOTP, pfxDaily, pfxThrottle, pfxAudit, pfxEventQueue, pfxEventIndex}
}

// maxConflictRetries bounds the retries of one read-modify-write (each
// conflict means another writer committed, so the system moves on).
const maxConflictRetries = 1000

// dailyTTL keeps a day's counters past the day whatever the time zone.
const dailyTTL = 48 * time.Hour

// update runs fn in a read-write transaction and commits, retrying on
// badger.ErrConflict (another transaction changed what fn read) until it
// commits or ctx ends. fn may therefore run several times.
func update(ctx context.Context, db *badger.DB, fn func(txn *badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return core.Errorf(core.EUNAVAILABLE, "store: %w", err)
		}
		err := db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return storeErr(err)
		}
		if attempt >= maxConflictRetries {
			return &core.Error{Code: core.EUNAVAILABLE, Message: "storage busy; try again", Err: err}
		}
		if attempt >= 3 {
			// Many writers on one key: back off a little, with jitter.
			d := time.Duration(rand.IntN(200*min(attempt, 20))) * time.Microsecond
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
}

func view(ctx context.Context, db *badger.DB, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return core.Errorf(core.EUNAVAILABLE, "store: %w", err)
	}
	return storeErr(db.View(fn))
}

// storeErr keeps core errors (from callbacks) and wraps Badger's as
// internal, with a caller-safe message.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, badger.ErrDBClosed) {
		return &core.Error{Code: core.EUNAVAILABLE, Message: "storage is closed", Err: err}
	}
	return &core.Error{Code: core.EINTERNAL, Message: "storage failure", Err: err}
}

// getValue returns a copy of key's value, or nil if absent.
func getValue(txn *badger.Txn, key []byte) ([]byte, error) {
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return it.ValueCopy(nil)
}
