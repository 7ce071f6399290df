package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

func readyFilter(maxBytes int64) *keyFilter {
	f := newKeyFilter(maxBytes, zerolog.Nop())
	f.ready.Store(true)
	return f
}

func TestKeyFilterNoFalseNegativesAcrossGrowth(t *testing.T) {
	f := readyFilter(32 << 20)
	const n = 300_000
	for i := range n {
		f.add(fmt.Appendf(nil, "a/app-%d", i))
	}
	if segs := len(*f.segs.Load()); segs < 3 {
		t.Fatalf("%d segments after %d keys: the filter did not grow", segs, n)
	}
	for i := range n {
		if !f.mayContain(fmt.Appendf(nil, "a/app-%d", i)) {
			t.Fatalf("key %d added but reported absent", i)
		}
	}
	fp := 0
	const probes = 100_000
	for i := range probes {
		if f.mayContain(fmt.Appendf(nil, "a/other-%d", i)) {
			fp++
		}
	}
	// About 0.7% per segment at most; a handful of segments.
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Fatalf("false positives %.2f%% (%d of %d)", 100*rate, fp, probes)
	}
	t.Logf("%d keys, %d segments, %d KiB, false positives %.3f%%", n, len(*f.segs.Load()), f.bytes()>>10, 100*float64(fp)/probes)
}

func TestKeyFilterAnswersMaybeUntilReadyAndPastBudget(t *testing.T) {
	f := newKeyFilter(32<<20, zerolog.Nop())
	f.add([]byte("a/x"))
	if !f.mayContain([]byte("a/never-added")) {
		t.Fatal("a filter still loading said a key is absent")
	}
	f.ready.Store(true)
	if f.mayContain([]byte("a/never-added")) {
		t.Fatal("want absent once ready (this key does not collide with a/x)")
	}

	// Room for the first segment but not the second.
	small := readyFilter(newFilterSeg(filterFirstCap).bytes() + 1)
	for i := range filterFirstCap {
		small.add(fmt.Appendf(nil, "k%d", i))
	}
	if small.off.Load() {
		t.Fatal("off before the first segment is full")
	}
	small.add([]byte("one too many"))
	if !small.off.Load() {
		t.Fatal("not off past the budget")
	}
	if !small.mayContain([]byte("one too many")) || !small.mayContain([]byte("anything")) {
		t.Fatal("an off filter must answer maybe")
	}

	if tiny := readyFilter(1024); !tiny.off.Load() || !tiny.mayContain([]byte("x")) {
		t.Fatal("a budget under one segment must disable the filter")
	}
	var none *keyFilter
	none.add([]byte("x"))
	if !none.mayContain([]byte("x")) {
		t.Fatal("a nil filter must answer maybe")
	}
}

func TestKeyFilterConcurrentAddsAndLookups(t *testing.T) {
	f := readyFilter(32 << 20)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50_000 {
				k := fmt.Appendf(nil, "w%d-%d", w, i)
				f.add(k)
				if !f.mayContain(k) {
					t.Errorf("%s absent right after its add", k)
					return
				}
			}
		})
	}
	wg.Wait()
}

// waitFilterReady waits for Open's scan of the existing keys.
func waitFilterReady(t testing.TB, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.kf.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("key filter not ready after 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// After a restart the filter must know the keys already on disk: a
// repeated application, idempotency key, ID number or phone is found, not
// taken for new.
func TestKeyFilterLoadsExistingKeysAtOpen(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	s := openStore(t, cfg)
	first := mustAccept(t, s, approvals("kf", "viettel", 3))
	notice := newMessage("kf-notice", "viettel", core.KindNotice, 1)
	nres := mustAccept(t, s, []core.AcceptRequest{{Message: notice, IdempotencyKey: "idem-1"}})
	if created, err := s.AccountStore().CreateAccount(ctx, actAccount("001085012345", "84912345678")); !created || err != nil {
		t.Fatalf("create: %v %v", created, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, cfg)
	waitFilterReady(t, s)
	if s.kf.mayContain([]byte(pfxApplication + "app-never")) {
		t.Fatal("the filter says maybe to a new key: this test would not exercise it")
	}
	again := approvals("kf", "viettel", 3)
	for i := range again {
		again[i].Message.ID += "-again"
	}
	res := mustAccept(t, s, again)
	for i, r := range res {
		if !r.Duplicate || r.MessageID != first[i].MessageID {
			t.Errorf("application %d after restart: %+v, want a duplicate of %s", i, r, first[i].MessageID)
		}
	}
	notice2 := newMessage("kf-notice-2", "viettel", core.KindNotice, 1)
	if r := mustAccept(t, s, []core.AcceptRequest{{Message: notice2, IdempotencyKey: "idem-1"}}); !r[0].Duplicate || r[0].MessageID != nres[0].MessageID {
		t.Errorf("idempotency key after restart: %+v", r[0])
	}
	as := s.AccountStore()
	if _, err := as.CreateAccount(ctx, actAccount("001085012345", "84987654321")); core.ErrorCode(err) != core.ECONFLICT {
		t.Errorf("ID number with another phone after restart: %v, want ECONFLICT", err)
	}
	if _, err := as.CreateAccount(ctx, actAccount("079190000123", "84912345678")); core.ErrorCode(err) != core.ECONFLICT {
		t.Errorf("phone of another account after restart: %v, want ECONFLICT", err)
	}
	if created, err := as.CreateAccount(ctx, actAccount("001085012345", "84912345678")); created || err != nil {
		t.Errorf("same account again: created %v, %v", created, err)
	}
}

// Creations skip the lookups of keys the filter knows are new; racing
// creations of one ID number or one phone must still end with exactly one
// account (the claims in account_claims.go).
func TestAccountCreationsRaceWithKeyFilter(t *testing.T) {
	s := openStore(t, testConfig(t))
	waitFilterReady(t, s)
	as := s.AccountStore()
	ctx := context.Background()
	for round := range 40 {
		var created atomic.Int32
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				var a *core.Account
				if round%2 == 0 { // one ID number, six phones
					a = actAccount(fmt.Sprintf("0010850%05d", round), fmt.Sprintf("849%02d%06d", w, round))
				} else { // one phone, six ID numbers
					a = actAccount(fmt.Sprintf("00108%01d0%05d", w, round), fmt.Sprintf("8498%07d", round))
				}
				var ok bool
				var err error
				if w%2 == 0 {
					ok, err = as.CreateAccount(ctx, a)
				} else {
					oks, errs, berr := as.CreateAccounts(ctx, []*core.Account{a})
					if berr != nil {
						t.Error(berr)
						return
					}
					ok, err = oks[0], errs[0]
				}
				if err != nil && core.ErrorCode(err) != core.ECONFLICT {
					t.Errorf("round %d: %v", round, err)
				}
				if ok {
					created.Add(1)
				}
			})
		}
		wg.Wait()
		if n := created.Load(); n != 1 {
			t.Fatalf("round %d: %d creations succeeded, want exactly 1", round, n)
		}
	}
}

func TestKeyClaimsWaitAndRelease(t *testing.T) {
	c := newKeyClaims()
	ctx := context.Background()
	release, err := c.claim(ctx, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		r2, err := c.claim(ctx, []string{"c", "b"})
		if err != nil {
			t.Error(err)
		} else {
			r2()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a claim on a held key did not wait")
	case <-time.After(20 * time.Millisecond):
	}
	// A claim on other keys does not wait.
	r3, err := c.claim(ctx, []string{"c2"})
	if err != nil {
		t.Fatal(err)
	}
	r3()
	release()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting claim was not granted after the release")
	}
	cctx, cancel := context.WithCancel(ctx)
	r4, _ := c.claim(ctx, []string{"z"})
	cancel()
	if _, err := c.claim(cctx, []string{"z"}); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("cancelled wait: %v", err)
	}
	r4()
	if len(c.held) != 0 {
		t.Fatalf("claims left held: %v", c.held)
	}
}

func TestKeyFilterMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := openStoreOn(t, testConfig(t), reg)
	waitFilterReady(t, s)
	mustAccept(t, s, approvals("km", "viettel", 3))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("promlint: %s: %s", pr.Metric, pr.Text)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	if got["vneidgw_store_key_filter_active"] != 1 || got["vneidgw_store_key_filter_bytes"] <= 0 {
		t.Errorf("active %v, bytes %v", got["vneidgw_store_key_filter_active"], got["vneidgw_store_key_filter_bytes"])
	}
	if n := got["vneidgw_store_key_filter_new_keys_total"]; n < 3 {
		t.Errorf("key_filter_new_keys_total %v after 3 new applications", n)
	}
}
