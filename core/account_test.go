package core

import (
	"testing"
	"time"
)

// TestAccountTransitions walks every (state, action) pair: the allowed
// transitions and every refusal with its error code.
func TestAccountTransitions(t *testing.T) {
	type want struct {
		next AccountState
		code string // "" = allowed
	}
	ok := func(s AccountState) want { return want{next: s} }
	no := func(code string) want { return want{code: code} }
	table := map[AccountState]map[AccountAction]want{
		AccountPending: {
			ActActivate:          ok(AccountActive),
			ActActivateUSSD:      ok(AccountPasswordChangeRequired),
			ActChangePassword:    no(ECONFLICT),
			ActResetPassword:     no(ECONFLICT),
			ActResetPasswordUSSD: no(ECONFLICT),
			ActLock:              no(ECONFLICT),
			ActUnlock:            no(ECONFLICT),
		},
		AccountActive: {
			ActActivate:          no(ECONFLICT),
			ActActivateUSSD:      no(ECONFLICT),
			ActChangePassword:    ok(AccountActive),
			ActResetPassword:     ok(AccountActive),
			ActResetPasswordUSSD: ok(AccountPasswordChangeRequired),
			ActLock:              ok(AccountLocked),
			ActUnlock:            no(ECONFLICT),
		},
		AccountPasswordChangeRequired: {
			ActActivate:          no(ECONFLICT),
			ActActivateUSSD:      no(ECONFLICT),
			ActChangePassword:    ok(AccountActive),
			ActResetPassword:     ok(AccountActive),
			ActResetPasswordUSSD: ok(AccountPasswordChangeRequired),
			ActLock:              ok(AccountLocked),
			ActUnlock:            no(ECONFLICT),
		},
		AccountLocked: {
			ActActivate:          ok(AccountActive),
			ActActivateUSSD:      ok(AccountPasswordChangeRequired),
			ActChangePassword:    no(EFORBIDDEN),
			ActResetPassword:     no(EFORBIDDEN),
			ActResetPasswordUSSD: no(EFORBIDDEN),
			ActLock:              no(ECONFLICT),
			ActUnlock:            ok(AccountActive),
		},
	}
	for _, s := range AccountStates() {
		for _, act := range AccountActions() {
			w, found := table[s][act]
			if !found {
				t.Fatalf("table misses %s/%s", s, act)
			}
			t.Run(string(s)+"/"+string(act), func(t *testing.T) {
				next, err := s.Transition(act)
				if got := ErrorCode(err); got != w.code {
					t.Fatalf("code %q, want %q (err %v)", got, w.code, err)
				}
				if w.code == "" && next != w.next {
					t.Fatalf("next %s, want %s", next, w.next)
				}
				if w.code != "" && next != s {
					t.Fatalf("refusal moved the state to %s", next)
				}
			})
		}
	}
	// An activated account gets exactly the sentence of the public guides.
	for _, s := range []AccountState{AccountActive, AccountPasswordChangeRequired} {
		for _, act := range []AccountAction{ActActivate, ActActivateUSSD} {
			_, err := s.Transition(act)
			if ErrorMessage(err) != "Tài khoản của bạn đã thực hiện kích hoạt" {
				t.Errorf("%s/%s: message %q", s, act, ErrorMessage(err))
			}
		}
	}
	if _, err := AccountState("bogus").Transition(ActLock); ErrorCode(err) != EINVALID {
		t.Errorf("unknown state: %v", err)
	}
}

func TestAccountApplyTimestamps(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := &Account{State: AccountActive}
	if _, err := a.apply(ActLock, t0); err != nil || !a.LockedAt.Equal(t0) || a.State != AccountLocked {
		t.Fatalf("lock: %v %+v", err, a)
	}
	if _, err := a.apply(ActLock, t0); ErrorCode(err) != ECONFLICT || a.State != AccountLocked {
		t.Fatalf("second lock: %v %+v", err, a)
	}
	t1 := t0.Add(time.Hour)
	if from, err := a.apply(ActUnlock, t1); err != nil || from != AccountLocked || !a.LockedAt.IsZero() || !a.UpdatedAt.Equal(t1) {
		t.Fatalf("unlock: %v %+v", err, a)
	}
}
