package store

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// actOpenDB opens the database the activation stores share in
// production: the message Store's, with its Badger options (conflict
// detection included, which their read-modify-writes rely on).
func actOpenDB(t testing.TB) *badger.DB {
	t.Helper()
	return openStore(t, testConfig(t)).DB()
}

func TestActivationPrefixesDisjoint(t *testing.T) {
	mine := activationPrefixes()
	for i, a := range mine {
		if !strings.HasPrefix(a, "x") {
			t.Errorf("%q does not start with x", a)
		}
		for j, b := range mine {
			if i != j && strings.HasPrefix(a, b) {
				t.Errorf("%q is a prefix of %q", b, a)
			}
		}
		for _, b := range allPrefixes() {
			if strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
				t.Errorf("%q overlaps the message store's %q", a, b)
			}
		}
	}
}

func actAccount(id, phone string) *core.Account {
	return &core.Account{IDNumber: id, Phone: phone, State: core.AccountPending, DateOfBirth: "1985-03-15"}
}

// The rules hold with the key filter (as in production, once its scan is
// done) and without it.
func TestAccountStoreCreateAndLookup(t *testing.T) {
	for _, v := range []struct {
		name string
		open func(t *testing.T) *AccountStore
	}{
		{"filtered", func(t *testing.T) *AccountStore {
			st := openStore(t, testConfig(t))
			waitFilterReady(t, st)
			return st.AccountStore()
		}},
		{"plain", func(t *testing.T) *AccountStore { return newAccountStore(actOpenDB(t)) }},
	} {
		t.Run(v.name, func(t *testing.T) { testAccountCreateAndLookup(t, v.open(t)) })
	}
}

func testAccountCreateAndLookup(t *testing.T, s *AccountStore) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		a       *core.Account
		created bool
		errCode string
	}{
		{"new", actAccount("001085012345", "84912345678"), true, ""},
		{"same again", actAccount("001085012345", "84912345678"), false, ""},
		{"phone taken", actAccount("079190000123", "84912345678"), false, core.ECONFLICT},
		{"id has another phone", actAccount("001085012345", "84987654321"), false, core.ECONFLICT},
		{"second", actAccount("079190000123", "84987654321"), true, ""},
		{"empty", &core.Account{}, false, core.EINVALID},
	} {
		created, err := s.CreateAccount(ctx, tc.a)
		if created != tc.created || core.ErrorCode(err) != tc.errCode {
			t.Errorf("%s: created %v err %v", tc.name, created, err)
		}
	}
	a, err := s.AccountByPhone(ctx, "84987654321")
	if err != nil || a.IDNumber != "079190000123" {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := s.Account(ctx, "000000000000"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatal(err)
	}
	if _, err := s.AccountByPhone(ctx, "84900000000"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatal(err)
	}
}

func TestAccountStoreUpdateWritesEventAtomically(t *testing.T) {
	db := actOpenDB(t)
	s, out := newAccountStore(db), NewAccountEventOutbox(db)
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, actAccount("001085012345", "84912345678")); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// A refused change writes neither the account nor the event.
	_, err := s.UpdateAccount(ctx, "001085012345", func(a *core.Account) (*core.AccountEvent, error) {
		a.State = core.AccountActive
		return &core.AccountEvent{Type: core.EventActivated}, core.Errorf(core.ECONFLICT, "no")
	})
	if core.ErrorCode(err) != core.ECONFLICT {
		t.Fatal(err)
	}
	if n, _ := out.Len(ctx); n != 0 {
		t.Fatalf("event written by a refused change")
	}
	if a, _ := s.Account(ctx, "001085012345"); a.State != core.AccountPending {
		t.Fatalf("state written by a refused change")
	}
	// The phone may not change.
	if _, err := s.UpdateAccount(ctx, "001085012345", func(a *core.Account) (*core.AccountEvent, error) {
		a.Phone = "84900000000"
		return nil, nil
	}); core.ErrorCode(err) != core.EINTERNAL {
		t.Fatalf("phone change: %v", err)
	}
	a, err := s.UpdateAccount(ctx, "001085012345", func(a *core.Account) (*core.AccountEvent, error) {
		a.State = core.AccountActive
		return &core.AccountEvent{ID: core.NewID(now), Type: core.EventActivated, IDNumber: a.IDNumber, State: a.State, At: now}, nil
	})
	if err != nil || a.State != core.AccountActive {
		t.Fatal(err)
	}
	evs, err := out.Pending(ctx, now, 10)
	if err != nil || len(evs) != 1 || evs[0].Type != core.EventActivated {
		t.Fatalf("%+v %v", evs, err)
	}
	if _, err := s.UpdateAccount(ctx, "000000000000", func(*core.Account) (*core.AccountEvent, error) { return nil, nil }); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatal(err)
	}
}

// TestAccountStoreConcurrentUpdates: read-modify-writes from many
// goroutines are all applied (conflicts retried), none lost.
func TestAccountStoreConcurrentUpdates(t *testing.T) {
	s := newAccountStore(actOpenDB(t))
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, actAccount("001085012345", "84912345678")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.UpdateAccount(ctx, "001085012345", func(a *core.Account) (*core.AccountEvent, error) {
				a.Level++
				return nil, nil
			}); err != nil {
				t.Error(err)
			}
			if _, err := s.UpdateThrottle(ctx, "k", func(th *core.Throttle) error { th.Failures++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	a, _ := s.Account(ctx, "001085012345")
	th, _ := s.UpdateThrottle(ctx, "k", func(*core.Throttle) error { return nil })
	if a.Level != 30 || th.Failures != 30 {
		t.Fatalf("level %d failures %d, want 30", a.Level, th.Failures)
	}
	if th, _ := s.UpdateThrottle(ctx, "k", func(th *core.Throttle) error { *th = core.Throttle{}; return nil }); th.Failures != 0 {
		t.Fatal("reset")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Account(cctx, "001085012345"); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("cancelled: %v", err)
	}
}
