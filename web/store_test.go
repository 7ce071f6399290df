package web

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core/store"
)

// openStore opens the real Badger store on a temp dir, closed at the end
// of the test, and returns it with a count of the messages it has queued
// (nothing leases them in these tests, so the backlog is every message
// written).
func openStore(t testing.TB) (backend, func() int) {
	t.Helper()
	st, err := store.Open(store.DefaultConfig(t.TempDir()), zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	queued := func() int {
		n := 0
		for _, lanes := range st.Backlog() {
			for _, c := range lanes {
				n += c
			}
		}
		return n
	}
	return st, queued
}
