package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"vneidgw/internal/jsonenc"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// AccountStore implements core.AccountStore and core.ThrottleStore on
// Badger. Account changes write their webhook event (core.AccountEvent) in
// the same transaction; AccountEventOutbox reads them.
type AccountStore struct {
	db *badger.DB
	// kf and claims, when set (Store.AccountStore), let a creation skip
	// the lookups of an ID number and phone the filter knows are new
	// (keyfilter.go, account_claims.go).
	kf     *keyFilter
	claims *keyClaims
}

var (
	_ core.AccountStore  = (*AccountStore)(nil)
	_ core.ThrottleStore = (*AccountStore)(nil)
)

// newAccountStore returns an account store on db without the key filter:
// every creation looks its keys up in Badger (this package's tests). Code
// outside uses Store.AccountStore: a store without the filter would create
// keys the filter of the Store on the same database never hears of.
func newAccountStore(db *badger.DB) *AccountStore { return &AccountStore{db: db} }

// AccountStore returns the account store on the store's database, sharing
// its key filter: creating an account whose ID number and phone are new
// reads nothing from Badger.
func (s *Store) AccountStore() *AccountStore {
	return &AccountStore{db: s.db, kf: s.kf, claims: s.claims}
}

// claim takes the creation claims of accounts' keys (nil entries skipped);
// without a filter there is nothing to claim.
func (s *AccountStore) claim(ctx context.Context, accounts []*core.Account, vals [][]byte) (func(), error) {
	if s.claims == nil {
		return func() {}, nil
	}
	keys := make([]string, 0, 2*len(accounts))
	for i, a := range accounts {
		if vals[i] != nil {
			keys = append(keys, pfxAccount+a.IDNumber, pfxAccountPhone+a.Phone)
		}
	}
	return s.claims.claim(ctx, keys)
}

func accountKey(id string) []byte         { return []byte(pfxAccount + id) }
func accountPhoneKey(phone string) []byte { return []byte(pfxAccountPhone + phone) }

// CreateAccount implements core.AccountStore.
func (s *AccountStore) CreateAccount(ctx context.Context, a *core.Account) (bool, error) {
	if a == nil || a.IDNumber == "" || a.Phone == "" {
		return false, core.Errorf(core.EINVALID, "account: ID number and phone are required")
	}
	val, err := encodeAccount(a)
	if err != nil {
		return false, core.Errorf(core.EINTERNAL, "account: encode: %w", err)
	}
	release, err := s.claim(ctx, []*core.Account{a}, [][]byte{val})
	if err != nil {
		return false, err
	}
	defer release()
	var created bool
	err = update(ctx, s.db, func(txn *badger.Txn) error {
		var err error
		created, err = s.createAccountTxn(txn, a, val)
		return err
	})
	return created, err
}

// CreateAccounts implements core.AccountStore: the same rules as
// CreateAccount, for many accounts, in as few transactions as Badger allows
// (a transaction too big is committed and the rest continues in a new one).
// Accounts later in the batch see the earlier ones.
func (s *AccountStore) CreateAccounts(ctx context.Context, accounts []*core.Account) ([]bool, []error, error) {
	created := make([]bool, len(accounts))
	errs := make([]error, len(accounts))
	vals := make([][]byte, len(accounts))
	for i, a := range accounts {
		if a == nil || a.IDNumber == "" || a.Phone == "" {
			errs[i] = core.Errorf(core.EINVALID, "account: ID number and phone are required")
			continue
		}
		v, err := encodeAccount(a)
		if err != nil {
			return nil, nil, core.Errorf(core.EINTERNAL, "account: encode: %w", err)
		}
		vals[i] = v
	}
	release, err := s.claim(ctx, accounts, vals)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	for start := 0; start < len(accounts); {
		if err := ctx.Err(); err != nil {
			return nil, nil, core.Errorf(core.EUNAVAILABLE, "store: %w", err)
		}
		next := start
		err := update(ctx, s.db, func(txn *badger.Txn) error {
			next = start
			for i := start; i < len(accounts); i++ {
				created[i] = false
				if vals[i] == nil {
					next = i + 1
					continue
				}
				ok, err := s.createAccountTxn(txn, accounts[i], vals[i])
				if errors.Is(err, badger.ErrTxnTooBig) {
					return nil // commit what fits; continue after it
				}
				var ce *core.Error
				if errors.As(err, &ce) {
					errs[i] = err
				} else if err != nil {
					return err
				} else {
					errs[i] = nil
				}
				created[i] = ok
				next = i + 1
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if next == start {
			return nil, nil, core.Errorf(core.EINTERNAL, "account: one account does not fit a transaction")
		}
		start = next
	}
	return created, errs, nil
}

// createAccountTxn applies CreateAccount's rules to one account within txn
// (its keys claimed when s has a key filter). A *core.Error refuses this
// account only; other errors abort.
func (s *AccountStore) createAccountTxn(txn *badger.Txn, a *core.Account, val []byte) (bool, error) {
	idKey := accountKey(a.IDNumber)
	cur, err := s.lookupNew(txn, idKey)
	if err != nil {
		return false, err
	}
	if cur != nil {
		var old core.Account
		if err := json.Unmarshal(cur, &old); err != nil {
			return false, err
		}
		if old.Phone == a.Phone {
			return false, nil
		}
		return false, core.Errorf(core.ECONFLICT, "this ID number already has an account with another phone number")
	}
	// The phone index is read only for a new ID number: an existing one was
	// decided above whatever the index holds.
	phoneKey := accountPhoneKey(a.Phone)
	owner, err := s.lookupNew(txn, phoneKey)
	if err != nil {
		return false, err
	}
	if owner != nil && string(owner) != a.IDNumber {
		return false, core.Errorf(core.ECONFLICT, "this phone number already holds another account")
	}
	// Into the filter before the commit makes them visible (a failed
	// commit leaves false positives, which only cost a lookup).
	s.kf.add(idKey)
	s.kf.add(phoneKey)
	if err := txn.Set(idKey, val); err != nil {
		return false, err
	}
	if err := txn.Set(phoneKey, []byte(a.IDNumber)); err != nil {
		return false, err
	}
	return true, nil
}

// lookupNew reads key, or answers nil at once when the key filter knows it
// does not exist (the caller holds its creation claim).
func (s *AccountStore) lookupNew(txn *badger.Txn, key []byte) ([]byte, error) {
	if s.claims != nil && !s.kf.mayContain(key) {
		return nil, nil
	}
	return getValue(txn, key)
}

func readAccount(txn *badger.Txn, id string) (*core.Account, error) {
	v, err := getValue(txn, accountKey(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, core.Errorf(core.ENOTFOUND, "no such account")
	}
	var a core.Account
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Account implements core.AccountStore.
func (s *AccountStore) Account(ctx context.Context, id string) (*core.Account, error) {
	var a *core.Account
	err := view(ctx, s.db, func(txn *badger.Txn) error {
		var err error
		a, err = readAccount(txn, id)
		return err
	})
	return a, err
}

// AccountByPhone implements core.AccountStore.
func (s *AccountStore) AccountByPhone(ctx context.Context, phone string) (*core.Account, error) {
	var a *core.Account
	err := view(ctx, s.db, func(txn *badger.Txn) error {
		id, err := getValue(txn, accountPhoneKey(phone))
		if err != nil {
			return err
		}
		if id == nil {
			return core.Errorf(core.ENOTFOUND, "no such account")
		}
		a, err = readAccount(txn, string(id))
		return err
	})
	return a, err
}

// UpdateAccount implements core.AccountStore.
func (s *AccountStore) UpdateAccount(ctx context.Context, id string, fn func(a *core.Account) (*core.AccountEvent, error)) (*core.Account, error) {
	var out *core.Account
	err := update(ctx, s.db, func(txn *badger.Txn) error {
		a, err := readAccount(txn, id)
		if err != nil {
			return err
		}
		phone := a.Phone
		ev, err := fn(a)
		if err != nil {
			return err
		}
		if a.IDNumber != id || a.Phone != phone {
			return core.Errorf(core.EINTERNAL, "account: ID number and phone are immutable")
		}
		val, err := encodeAccount(a)
		if err != nil {
			return err
		}
		if err := txn.Set(accountKey(id), val); err != nil {
			return err
		}
		if ev != nil {
			if err := putEvent(txn, ev, ev.At); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateThrottle implements core.ThrottleStore.
func (s *AccountStore) UpdateThrottle(ctx context.Context, key string, fn func(t *core.Throttle) error) (core.Throttle, error) {
	k := []byte(pfxThrottle + key)
	var out core.Throttle
	err := update(ctx, s.db, func(txn *badger.Txn) error {
		var t core.Throttle
		v, err := getValue(txn, k)
		if err != nil {
			return err
		}
		if v != nil {
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
		}
		before := t
		if err := fn(&t); err != nil {
			return err
		}
		out = t
		switch {
		case t == before:
			return nil // nothing to write: a read that does not conflict with others
		case t == (core.Throttle{}):
			return txn.Delete(k)
		}
		val, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return txn.SetEntry(badger.NewEntry(k, val).WithTTL(dailyTTL))
	})
	return out, err
}

// keepTTL is how long Badger keeps a record that must live d.
func keepTTL(d time.Duration) time.Duration { return max(d, time.Second) + time.Minute }

// encodeAccount returns a's record: exactly what json.Marshal(a) returns
// (records are read back with json.Unmarshal, old and new alike), built
// without reflection. A time outside what MarshalJSON accepts falls back to
// json.Marshal and its error.
func encodeAccount(a *core.Account) ([]byte, error) {
	if !jsonTimeOK(a.CreatedAt) || !jsonTimeOK(a.UpdatedAt) || !jsonTimeOK(a.ActivatedAt) || !jsonTimeOK(a.LockedAt) {
		return json.Marshal(a)
	}
	b := make([]byte, 0, 320+len(a.FullName)+len(a.PasswordHash)+len(a.PasscodeHash)+100*len(a.Questions))
	b = append(b, `{"id_number":`...)
	b = jsonenc.AppendString(b, a.IDNumber)
	b = append(b, `,"phone":`...)
	b = jsonenc.AppendString(b, a.Phone)
	b = append(b, `,"application_id":`...)
	b = jsonenc.AppendString(b, a.ApplicationID)
	b = append(b, `,"full_name":`...)
	b = jsonenc.AppendString(b, a.FullName)
	b = append(b, `,"date_of_birth":`...)
	b = jsonenc.AppendString(b, a.DateOfBirth)
	b = append(b, `,"sex":`...)
	b = jsonenc.AppendString(b, string(a.Sex))
	b = append(b, `,"level":`...)
	b = strconv.AppendInt(b, int64(a.Level), 10)
	b = append(b, `,"state":`...)
	b = jsonenc.AppendString(b, string(a.State))
	if a.PasswordHash != "" {
		b = append(b, `,"password_hash":`...)
		b = jsonenc.AppendString(b, a.PasswordHash)
	}
	if a.PasscodeHash != "" {
		b = append(b, `,"passcode_hash":`...)
		b = jsonenc.AppendString(b, a.PasscodeHash)
	}
	if len(a.Questions) > 0 {
		b = append(b, `,"questions":[`...)
		for i, q := range a.Questions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"q":`...)
			b = strconv.AppendInt(b, int64(q.QuestionID), 10)
			b = append(b, `,"h":`...)
			b = jsonenc.AppendString(b, q.AnswerHash)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, a.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendJSONTime(b, a.UpdatedAt)
	if !a.ActivatedAt.IsZero() {
		b = append(b, `,"activated_at":`...)
		b = appendJSONTime(b, a.ActivatedAt)
	}
	if !a.LockedAt.IsZero() {
		b = append(b, `,"locked_at":`...)
		b = appendJSONTime(b, a.LockedAt)
	}
	return append(b, '}'), nil
}

// jsonTimeOK reports whether appendJSONTime writes t as time.Time's
// MarshalJSON does (which refuses years outside 0–9999 and zone offsets
// of 24 hours or more).
func jsonTimeOK(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off > -24*60*60 && off < 24*60*60
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with nanoseconds, quoted); see jsonTimeOK.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
