package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// OTPStore implements core.OTPStore on Badger: OTP records and activation
// tokens under xo/ (with a Badger TTL of the record's KeepFor) and daily
// counters under xc/ (TTL 48 h). Every read-modify-write is one optimistic
// transaction retried on conflict, so concurrent guesses and issues are
// counted exactly.
type OTPStore struct {
	db *badger.DB
}

var _ core.OTPStore = (*OTPStore)(nil)

// NewOTPStore returns the OTP store on db.
func NewOTPStore(db *badger.DB) *OTPStore { return &OTPStore{db: db} }

func otpKey(key string) []byte { return []byte(pfxOTP + key) }

func dailyKey(day, key string) []byte { return []byte(pfxDaily + day + "/" + key) }

// otpRW is where the OTP functions read and write: a Badger transaction
// (the OTPStore's own updates) or the message writer's batch (an issue that
// queues its SMS in the same write, otp_issue.go).
type otpRW interface {
	get(k []byte) ([]byte, error) // nil, nil when absent
	setTTL(k, v []byte, ttl time.Duration) error
	del(k []byte) error
}

// txnRW is a Badger transaction as an otpRW.
type txnRW struct{ txn *badger.Txn }

func (t txnRW) get(k []byte) ([]byte, error) { return getValue(t.txn, k) }
func (t txnRW) setTTL(k, v []byte, ttl time.Duration) error {
	return t.txn.SetEntry(badger.NewEntry(k, v).WithTTL(ttl))
}
func (t txnRW) del(k []byte) error { return t.txn.Delete(k) }

func readOTP(rw otpRW, k []byte) (*core.OTPRecord, error) {
	v, err := rw.get(k)
	if err != nil || v == nil {
		return nil, err
	}
	var r core.OTPRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func writeOTP(rw otpRW, k []byte, r *core.OTPRecord) error {
	if r == nil {
		return rw.del(k)
	}
	val, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return rw.setTTL(k, val, keepTTL(r.KeepFor))
}

// charge counts one use of each counter, all or nothing.
func charge(rw otpRW, day string, charges []core.DailyCharge) error {
	vals := make([]uint32, len(charges))
	for i, c := range charges {
		v, err := rw.get(dailyKey(day, c.Key))
		if err != nil {
			return err
		}
		if len(v) == 4 {
			vals[i] = binary.BigEndian.Uint32(v)
		}
		if c.Limit > 0 && vals[i] >= uint32(c.Limit) {
			return core.Errorf(core.ERATELIMIT, "daily limit reached; try again tomorrow")
		}
	}
	for i, c := range charges {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], vals[i]+1)
		if err := rw.setTTL(dailyKey(day, c.Key), b[:], dailyTTL); err != nil {
			return err
		}
	}
	return nil
}

// IssueOTP implements core.OTPStore.
func (s *OTPStore) IssueOTP(ctx context.Context, key, day string, charges []core.DailyCharge, fn func(cur *core.OTPRecord) (*core.OTPRecord, error)) error {
	k := otpKey(key)
	return update(ctx, s.db, func(txn *badger.Txn) error {
		_, err := issueOTP(txnRW{txn}, k, day, charges, fn)
		return err
	})
}

// issueOTP is IssueOTP's read-modify-write on rw; it reports whether fn
// asked for a record (then written, with its charges).
func issueOTP(rw otpRW, k []byte, day string, charges []core.DailyCharge, fn func(cur *core.OTPRecord) (*core.OTPRecord, error)) (bool, error) {
	cur, err := readOTP(rw, k)
	if err != nil {
		return false, err
	}
	next, err := fn(cur)
	if err != nil || next == nil {
		return false, err
	}
	if err := charge(rw, day, charges); err != nil {
		return false, err
	}
	return true, writeOTP(rw, k, next)
}

// UpdateOTP implements core.OTPStore.
func (s *OTPStore) UpdateOTP(ctx context.Context, key string, fn func(cur *core.OTPRecord) (*core.OTPRecord, bool, error)) error {
	k := otpKey(key)
	var fnErr error
	err := update(ctx, s.db, func(txn *badger.Txn) error {
		fnErr = nil
		cur, err := readOTP(txnRW{txn}, k)
		if err != nil {
			return err
		}
		next, commit, err := fn(cur)
		if !commit {
			if err != nil {
				return err
			}
			return nil
		}
		fnErr = err
		return writeOTP(txnRW{txn}, k, next)
	})
	if err != nil {
		return err
	}
	return fnErr
}

// ChargeDaily implements core.OTPStore.
func (s *OTPStore) ChargeDaily(ctx context.Context, day string, charges []core.DailyCharge) error {
	return update(ctx, s.db, func(txn *badger.Txn) error { return charge(txnRW{txn}, day, charges) })
}
