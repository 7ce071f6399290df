package store

import (
	"context"
	"encoding/binary"
	"encoding/json"

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

func readOTP(txn *badger.Txn, k []byte) (*core.OTPRecord, error) {
	v, err := getValue(txn, k)
	if err != nil || v == nil {
		return nil, err
	}
	var r core.OTPRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func writeOTP(txn *badger.Txn, k []byte, r *core.OTPRecord) error {
	if r == nil {
		return txn.Delete(k)
	}
	val, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return txn.SetEntry(badger.NewEntry(k, val).WithTTL(keepTTL(r.KeepFor)))
}

// charge counts one use of each counter, all or nothing.
func charge(txn *badger.Txn, day string, charges []core.DailyCharge) error {
	vals := make([]uint32, len(charges))
	for i, c := range charges {
		v, err := getValue(txn, dailyKey(day, c.Key))
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
		if err := txn.SetEntry(badger.NewEntry(dailyKey(day, c.Key), b[:]).WithTTL(dailyTTL)); err != nil {
			return err
		}
	}
	return nil
}

// IssueOTP implements core.OTPStore.
func (s *OTPStore) IssueOTP(ctx context.Context, key, day string, charges []core.DailyCharge, fn func(cur *core.OTPRecord) (*core.OTPRecord, error)) error {
	k := otpKey(key)
	return update(ctx, s.db, func(txn *badger.Txn) error {
		cur, err := readOTP(txn, k)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		if err := charge(txn, day, charges); err != nil {
			return err
		}
		return writeOTP(txn, k, next)
	})
}

// UpdateOTP implements core.OTPStore.
func (s *OTPStore) UpdateOTP(ctx context.Context, key string, fn func(cur *core.OTPRecord) (*core.OTPRecord, bool, error)) error {
	k := otpKey(key)
	var fnErr error
	err := update(ctx, s.db, func(txn *badger.Txn) error {
		fnErr = nil
		cur, err := readOTP(txn, k)
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
		return writeOTP(txn, k, next)
	})
	if err != nil {
		return err
	}
	return fnErr
}

// ChargeDaily implements core.OTPStore.
func (s *OTPStore) ChargeDaily(ctx context.Context, day string, charges []core.DailyCharge) error {
	return update(ctx, s.db, func(txn *badger.Txn) error { return charge(txn, day, charges) })
}
