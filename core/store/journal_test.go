package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"vneidgw/core"
)

func testJournalLog() []logEntry {
	return []logEntry{
		{bkey: []byte("m/a"), ov: ovEntry{val: bytes.Repeat([]byte("v"), 300)}},
		{bkey: []byte("q/x"), ov: ovEntry{del: true}},
		{bkey: []byte("c/x/1"), ov: ovEntry{val: []byte("p"), ttl: time.Hour}},
		{bkey: []byte("s/queue"), ov: ovEntry{val: []byte{}}},
	}
}

func TestJournalRecordsRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	data := encodeJournalHeader(nil, 7)
	for seq := uint64(1); seq <= 3; seq++ {
		data = encodeJournalRecord(data, 7, seq, testJournalLog(), now)
	}
	epoch, recs, ok := decodeJournal(data)
	if !ok || epoch != 7 || len(recs) != 3 {
		t.Fatalf("decode: ok %v epoch %d records %d, want true 7 3", ok, epoch, len(recs))
	}
	for i, r := range recs {
		if r.seq != uint64(i+1) || len(r.writes) != 4 {
			t.Fatalf("record %d: seq %d, %d writes", i, r.seq, len(r.writes))
		}
		w := r.writes
		if string(w[0].key) != "m/a" || len(w[0].val) != 300 || w[0].del || w[0].expiresAt != 0 {
			t.Errorf("write 0: %+v", w[0])
		}
		if string(w[1].key) != "q/x" || !w[1].del {
			t.Errorf("write 1: %+v", w[1])
		}
		if string(w[2].val) != "p" || w[2].expiresAt != uint64(now.Add(time.Hour).Unix()) {
			t.Errorf("write 2: %+v", w[2])
		}
		if w[3].val == nil || len(w[3].val) != 0 {
			t.Errorf("write 3: an empty value must stay a value: %+v", w[3])
		}
	}

	// A torn last record ends the log before it.
	for cut := len(data) - 1; cut > len(data)-40; cut-- {
		if _, recs, _ := decodeJournal(data[:cut]); len(recs) != 2 {
			t.Fatalf("cut at %d: %d records, want 2", cut, len(recs))
		}
	}
	// A flipped bit fails the checksum.
	bad := bytes.Clone(data)
	bad[len(bad)-5] ^= 1
	if _, recs, _ := decodeJournal(bad); len(recs) != 2 {
		t.Errorf("corrupt last record: %d records, want 2", len(recs))
	}
	// A new epoch written over the start: the old epoch's records that
	// follow fail their checksum.
	over := encodeJournalHeader(nil, 8)
	over = encodeJournalRecord(over, 8, 1, testJournalLog(), now)
	mixed := append(bytes.Clone(over), data[len(over):]...)
	if epoch, recs, _ := decodeJournal(mixed); epoch != 8 || len(recs) != 1 {
		t.Errorf("new epoch over an old one: epoch %d, %d records, want 8 and 1", epoch, len(recs))
	}
	// A record out of sequence ends the log.
	gap := encodeJournalHeader(nil, 7)
	gap = encodeJournalRecord(gap, 7, 1, testJournalLog(), now)
	gap = encodeJournalRecord(gap, 7, 3, testJournalLog(), now)
	if _, recs, _ := decodeJournal(gap); len(recs) != 1 {
		t.Errorf("sequence gap: %d records, want 1", len(recs))
	}
	// No header, or a damaged one: nothing.
	for _, d := range [][]byte{nil, make([]byte, journalSize), data[1:]} {
		if _, recs, ok := decodeJournal(d); ok || recs != nil {
			t.Errorf("invalid header accepted (%d records)", len(recs))
		}
	}
}

// FuzzDecodeJournal: the journal is read back after a crash, whatever the
// file holds; decoding never panics, and what it accepts re-encodes to the
// same bytes.
func FuzzDecodeJournal(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good := encodeJournalHeader(nil, 3)
	good = encodeJournalRecord(good, 3, 1, testJournalLog(), now)
	good = encodeJournalRecord(good, 3, 2, testJournalLog()[:1], now)
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(encodeJournalHeader(nil, 1))
	f.Add([]byte(journalMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		epoch, recs, ok := decodeJournal(data)
		if !ok {
			if recs != nil {
				t.Fatal("records without a valid header")
			}
			return
		}
		re := encodeJournalHeader(nil, epoch)
		for i, r := range recs {
			if r.seq != uint64(i+1) {
				t.Fatalf("record %d has seq %d", i, r.seq)
			}
			log := make([]logEntry, len(r.writes))
			for k, w := range r.writes {
				log[k] = logEntry{bkey: w.key, ov: ovEntry{val: w.val, del: w.del}}
			}
			re = encodeJournalRecord(re, epoch, r.seq, log, now)
		}
		// Expiry times are re-encoded from now, so compare only when
		// there are none.
		for _, r := range recs {
			for _, w := range r.writes {
				if w.expiresAt != 0 {
					return
				}
			}
		}
		if !bytes.Equal(re[journalHeaderSize:], data[journalHeaderSize:len(re)]) {
			t.Fatalf("accepted records do not re-encode to the same bytes")
		}
	})
}

// copyDir copies a store's directory while it is open: a crash image of
// what the store has written so far.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		src, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// An OTP's accept is offered to the scheduler once the journal has it,
// before Badger's commit, and answered only after the commit. A crash in
// between loses nothing: the journal's record is applied at Open.
func TestJournalOffersBeforeCommitAndReplays(t *testing.T) {
	cfg := testConfig(t)
	s := openStore(t, cfg)
	release := make(chan struct{})
	var once sync.Once
	s.holdCommit = func(f *inflight) <-chan struct{} {
		if f.journal == nil {
			return nil
		}
		return release
	}
	defer once.Do(func() { close(release) })
	ctx := context.Background()
	otp := newMessage("otp-1", "viettel", core.KindOTP, 1)
	answered := make(chan error, 1)
	go func() {
		_, err := s.Accept(ctx, []core.AcceptRequest{{Message: otp}})
		answered <- err
	}()
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := s.Next(nctx, []string{"viettel"}, 1)
	if err != nil || len(got) != 1 || got[0].ID != "otp-1" {
		t.Fatalf("the OTP was not offered before its commit: %v, %v", got, err)
	}
	select {
	case err := <-answered:
		t.Fatalf("the accept was answered before Badger had it (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}

	// Crash image: the journal has the OTP, Badger does not.
	image := testConfig(t)
	copyDir(t, cfg.Dir, image.Dir)
	once.Do(func() { close(release) })
	if err := <-answered; err != nil {
		t.Fatal(err)
	}

	s2 := openStore(t, image)
	m, err := s2.Message(ctx, "otp-1")
	if err != nil {
		t.Fatalf("after the crash the OTP is gone: %v", err)
	}
	if m.Status != core.StatusQueued {
		t.Errorf("replayed OTP status %q, want queued", m.Status)
	}
	got, err = s2.Next(nctx, []string{"viettel"}, 1)
	if err != nil || len(got) != 1 || got[0].ID != "otp-1" {
		t.Fatalf("the replayed OTP is not queued: %v, %v", got, err)
	}
}

// Records Badger has are not applied again: an OTP submitted after its
// accept keeps its status across a restart.
func TestJournalDoesNotReplayCommittedBatches(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(cfg, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Accept(ctx, []core.AcceptRequest{{Message: newMessage("otp-1", "viettel", core.KindOTP, 1)}}); err != nil {
		t.Fatal(err)
	}
	if s.jnl == nil || s.jnl.seq == 0 {
		t.Fatal("the OTP's accept was not journaled")
	}
	if err := s.Record(ctx, []core.Event{submitted("otp-1", 1, "77")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close left the journal as it was: the record is still in the file.
	data, err := os.ReadFile(filepath.Join(cfg.Dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, _ := decodeJournal(data); len(recs) != 1 {
		t.Fatalf("journal holds %d records, want 1", len(recs))
	}
	s2 := openStore(t, cfg)
	m, err := s2.Message(ctx, "otp-1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != core.StatusSubmitted {
		t.Errorf("status after restart %q, want submitted (the journal's accept was applied again)", m.Status)
	}
}
