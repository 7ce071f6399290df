package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vneidgw/core"
)

func TestOTPStoreIssueChargesAtomically(t *testing.T) {
	s := NewOTPStore(actOpenDB(t))
	ctx := context.Background()
	now := time.Now()
	rec := &core.OTPRecord{Hash: []byte("h"), IssuedAt: now, ExpiresAt: now.Add(time.Minute), KeepFor: time.Minute}
	charges := []core.DailyCharge{{Key: "phone", Limit: 2}, {Key: "client", Limit: 3}}
	issue := func(key string) error {
		return s.IssueOTP(ctx, key, "20261122", charges, func(*core.OTPRecord) (*core.OTPRecord, error) { return rec, nil })
	}
	for i, want := range []string{"", "", core.ERATELIMIT} {
		if err := issue("k"); core.ErrorCode(err) != want {
			t.Fatalf("issue %d: %v", i, err)
		}
	}
	// The refused issue charged nothing: the client counter is at 2 of 3.
	if err := s.ChargeDaily(ctx, "20261122", []core.DailyCharge{{Key: "client", Limit: 3}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ChargeDaily(ctx, "20261122", []core.DailyCharge{{Key: "client", Limit: 3}}); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatal(err)
	}
	// Another day, fresh counters.
	if err := s.ChargeDaily(ctx, "20261123", []core.DailyCharge{{Key: "client", Limit: 3}}); err != nil {
		t.Fatal(err)
	}
	// A refusal from fn writes nothing and charges nothing.
	if err := s.IssueOTP(ctx, "k2", "20261124", charges, func(*core.OTPRecord) (*core.OTPRecord, error) {
		return nil, core.Errorf(core.ERATELIMIT, "cool-down")
	}); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatal(err)
	}
	var seen *core.OTPRecord
	_ = s.UpdateOTP(ctx, "k2", func(cur *core.OTPRecord) (*core.OTPRecord, bool, error) { seen = cur; return cur, false, nil })
	if seen != nil {
		t.Fatal("refused issue wrote a record")
	}
}

func TestOTPStoreUpdateCommitsWithError(t *testing.T) {
	s := NewOTPStore(actOpenDB(t))
	ctx := context.Background()
	k := "c"
	_ = s.UpdateOTP(ctx, k, func(*core.OTPRecord) (*core.OTPRecord, bool, error) {
		return &core.OTPRecord{Hash: []byte{1}, KeepFor: time.Minute}, true, nil
	})
	wrong := core.Errorf(core.EINVALID, "wrong")
	if err := s.UpdateOTP(ctx, k, func(cur *core.OTPRecord) (*core.OTPRecord, bool, error) {
		next := *cur
		next.Attempts++
		return &next, true, wrong
	}); err != wrong {
		t.Fatalf("fn error not returned: %v", err)
	}
	_ = s.UpdateOTP(ctx, k, func(cur *core.OTPRecord) (*core.OTPRecord, bool, error) {
		if cur == nil || cur.Attempts != 1 {
			t.Fatalf("attempt not committed: %+v", cur)
		}
		return nil, true, nil // delete
	})
	_ = s.UpdateOTP(ctx, k, func(cur *core.OTPRecord) (*core.OTPRecord, bool, error) {
		if cur != nil {
			t.Fatal("not deleted")
		}
		return nil, false, nil
	})
}

// TestOTPStoreConcurrentCounters: concurrent charges never pass the limit.
func TestOTPStoreConcurrentCounters(t *testing.T) {
	s := NewOTPStore(actOpenDB(t))
	ctx := context.Background()
	if n := passedConcurrently(t, 40, func(int) error {
		return s.ChargeDaily(ctx, "d", []core.DailyCharge{{Key: "x", Limit: 7}})
	}); n != 7 {
		t.Fatalf("%d charges passed, limit 7", n)
	}
}

// passedConcurrently runs f(0..n-1) at once and counts the calls that
// passed; ERATELIMIT is the only refusal expected.
func passedConcurrently(t *testing.T, n int, f func(i int) error) int {
	t.Helper()
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := f(i); core.ErrorCode(err) {
			case "":
				ok.Add(1)
			case core.ERATELIMIT:
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}
