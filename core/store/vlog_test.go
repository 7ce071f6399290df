package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// vlogFiles counts the value-log files in dir.
func vlogFiles(t *testing.T, dir string) int {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	return len(fs)
}

// Message records go to the value log (config.go: ValueThreshold) and are
// rewritten when their status changes: the old versions are garbage the
// GC loop must reclaim, or the disk only ever grows.
func TestValueLogGCReclaimsRewrittenMessages(t *testing.T) {
	cfg := testConfig(t)
	cfg.ValueLogFileSize = 1 << 20
	// Compact as soon as L0 holds two tables (each reopen flushes one), so
	// the superseded versions are dropped and counted as garbage.
	cfg.tune = func(o badger.Options) badger.Options {
		return o.WithNumLevelZeroTables(1).WithNumLevelZeroTablesStall(8)
	}
	s := openStore(t, cfg)
	const n = 3000
	reqs := approvals("gc", "viettel", n)
	for _, r := range reqs {
		r.Message.Text = strings.Repeat("Ho so da duoc phe duyet. ", 16) // 400 bytes: over the threshold
	}
	for i := 0; i < n; i += 500 {
		mustAccept(t, s, reqs[i:i+500])
	}
	reopen := func() {
		t.Helper()
		if err := s.Close(); err != nil { // flushes the memtable into an L0 table
			t.Fatal(err)
		}
		s = openStore(t, cfg)
	}
	reopen()
	for i := 0; i < n; i += 500 {
		var evs []core.Event
		for j := i; j < i+500; j++ {
			id := reqs[j].Message.ID
			for p := 1; p <= 2; p++ {
				sid := fmt.Sprintf("%d-%d", j, p)
				evs = append(evs, submitted(id, p, sid), dlr(sid, core.StatusDelivered))
			}
		}
		mustRecord(t, s, evs...)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := vlogFiles(t, cfg.Dir)
	if before < 4 {
		t.Fatalf("only %d value-log files: the records did not go to the value log", before)
	}

	cfg.GCInterval = 20 * time.Millisecond
	s = openStore(t, cfg)
	deadline := time.Now().Add(15 * time.Second)
	for vlogFiles(t, cfg.Dir) >= before {
		if time.Now().After(deadline) {
			t.Fatalf("value-log files: %d before GC, %d after 15 s: nothing reclaimed", before, vlogFiles(t, cfg.Dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range reqs[:100] {
		if m := mustMessage(t, s, r.Message.ID); m.Status != core.StatusDelivered || m.Text != r.Message.Text {
			t.Fatalf("after GC, %s: status %s, text %q", m.ID, m.Status, m.Text)
		}
	}
}
