package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

type badgerTxn = badger.Txn

func TestKeyPrefixesDisjoint(t *testing.T) {
	ps := allPrefixes()
	for i, a := range ps {
		for j, b := range ps {
			if i != j && strings.HasPrefix(a, b) {
				t.Errorf("prefix %q starts with %q", a, b)
			}
		}
	}
}

func TestParseQueueKey(t *testing.T) {
	k := queueKey("viet/tel", core.PriorityNotice, 258)
	op, prio, seq, ok := parseQueueKey(k)
	if !ok || op != "viet/tel" || prio != core.PriorityNotice || seq != 258 {
		t.Fatalf("%q %d %d %v", op, prio, seq, ok)
	}
	for _, bad := range [][]byte{nil, []byte("q/"), []byte("m/abcdefghijklmn"), append([]byte("q/x/\x09/"), 0, 0, 0, 0, 0, 0, 0, 1)} {
		if _, _, _, ok := parseQueueKey(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestAPIKeysAndPorted(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	k := &core.APIKey{ID: "k1", Name: "identity", SecretHash: []byte{1, 2, 3}, CreatedAt: time.Unix(100, 0).UTC()}
	if err := s.PutAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAPIKey(ctx, &core.APIKey{ID: "k2", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.APIKey(ctx, "k1")
	if err != nil || !reflect.DeepEqual(got, k) {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := s.APIKey(ctx, "zz"); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatal(err)
	}
	all, err := s.APIKeys(ctx)
	if err != nil || len(all) != 2 || all[1].ID != "k2" {
		t.Fatalf("%v %v", all, err)
	}
	if err := s.PutAPIKey(ctx, &core.APIKey{}); core.ErrorCode(err) != core.EINVALID {
		t.Fatal(err)
	}

	if err := s.PutPorted(ctx, map[string]string{"84961111111": "mobifone", "84902222222": "viettel"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePorted(ctx, []string{"84902222222"}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Ported(ctx)
	if err != nil || !reflect.DeepEqual(p, map[string]string{"84961111111": "mobifone"}) {
		t.Fatalf("%v %v", p, err)
	}
	if err := s.PutPorted(ctx, map[string]string{"": "x"}); core.ErrorCode(err) != core.EINVALID {
		t.Fatal(err)
	}
}

func TestMetricsRegisteredAndUpdated(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := testConfig(t)
	s, err := Open(cfg, zerolog.Nop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAccept(t, s, approvals("mt", "viettel", 3))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fams {
		seen[f.GetName()] = true
		if !strings.HasPrefix(f.GetName(), "vneidgw_store_") {
			t.Errorf("metric %s outside the namespace", f.GetName())
		}
		if f.GetName() == "vneidgw_store_queue_backlog_messages" {
			if v := f.GetMetric()[0].GetGauge().GetValue(); v != 3 {
				t.Errorf("backlog gauge %v", v)
			}
		}
	}
	for _, name := range []string{"vneidgw_store_commit_duration_seconds", "vneidgw_store_commit_batch_items", "vneidgw_store_queue_backlog_messages", "vneidgw_store_outbox_pending_reports"} {
		if !seen[name] {
			t.Errorf("metric %s missing", name)
		}
	}
	// A second store on the same registry fails cleanly.
	cfg2 := testConfig(t)
	if _, err := Open(cfg2, zerolog.Nop(), reg); err == nil {
		t.Fatal("duplicate registration accepted")
	}
}

func TestInMemoryAndPing(t *testing.T) {
	s := openStore(t, Config{InMemory: true})
	if err := s.Ping(); err != nil {
		t.Fatal(err)
	}
	mustAccept(t, s, approvals("im", "viettel", 2))
	if ms := next(t, s, []string{"viettel"}, 5); len(ms) != 2 {
		t.Fatalf("%v", ids(ms))
	}
	if _, err := Open(Config{}, zerolog.Nop(), nil); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("no dir: %v", err)
	}
}
