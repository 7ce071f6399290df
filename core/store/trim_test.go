package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

func TestStoreMappings(t *testing.T) {
	maps := `55d4c0a00000-55d4c1a00000 r-xp 00000000 fd:01 123 /usr/bin/vneidgw
7f1c2c000000-7f1c2c800000 rw-s 00000000 fd:01 456 /srv/vneidgw/data/00001.mem
7f1c2d000000-7f1c2d100000 r--s 00000000 fd:01 789 /srv/vneidgw/data/000003.sst (deleted)
7f1c2d100000-7f1c2d200000 rw-s 00000000 fd:01 792 /srv/vneidgw/data/000009.vlog
7f1c2d200000-7f1c2d300000 rw-s 00000000 fd:01 793 /srv/vneidgw/data/000012.vlog
7f1c2d300000-7f1c2d400000 rw-s 00000000 fd:01 794 /srv/vneidgw/data/000011.vlog (deleted)
7f1c2e000000-7f1c2e100000 r--s 00000000 fd:01 790 /srv/vneidgw/data2/000001.sst
7f1c2f000000-7f1c2f001000 rw-p 00000000 00:00 0
zzzz-7f1c30000000 r--s 00000000 fd:01 791 /srv/vneidgw/data/bad.sst
`
	got := storeMappings([]byte(maps), "/srv/vneidgw/data/")
	want := []mappedRange{
		{0x7f1c2c000000, 0x7f1c2c800000, -1},
		{0x7f1c2d000000, 0x7f1c2d100000, -1},
		{0x7f1c2d100000, 0x7f1c2d200000, 9},
		{0x7f1c2d200000, 0x7f1c2d300000, 12},
		{0x7f1c2d300000, 0x7f1c2d400000, 11},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	// The newest value-log file (the messages accepted last, read back
	// soon) is not paged out.
	trim := trimmable(got)
	if fmt.Sprint(trim) != fmt.Sprint(slices.Delete(slices.Clone(want), 3, 4)) {
		t.Fatalf("trimmable: got %x", trim)
	}
}

func TestStatusKB(t *testing.T) {
	st := []byte("Name:\tvneidgw\nVmHWM:\t  434100 kB\nRssAnon:\t  174000 kB\nRssFile:\t   28812 kB\n")
	if got := statusKB(st, "RssFile"); got != 28812 {
		t.Fatalf("RssFile %d", got)
	}
	if got := statusKB(st, "RssShmem"); got != -1 {
		t.Fatalf("absent field %d", got)
	}
}

// mappedRSS sums the resident kB of this process's mappings of files
// under dir, from /proc/self/smaps.
func mappedRSS(t *testing.T, dir string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = len(f) >= 6 && strings.HasPrefix(f[5], dir+"/")
			continue
		}
		if in && len(f) >= 2 && f[0] == "Rss:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			total += n
		}
	}
	return total
}

// The trimmer pages out what Badger mapped and touched, and the data is
// all still there afterwards.
func TestTrimPagesOutMappedFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("MADV_PAGEOUT is Linux only")
	}
	dir, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(dir)
	cfg.TrimInterval = -1 // trimmed by hand below
	cfg.TrimAbove = 1
	cfg.SyncWrites = false
	cfg.ValueLogFileSize = 1 << 20 // several files: the newest stays resident
	s, err := Open(cfg, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.trimDir = dir
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		reqs := make([]core.AcceptRequest, 500)
		for j := range reqs {
			m := &core.Message{ID: core.NewID(s.cfg.Now()), Kind: core.KindNotice, Priority: core.PriorityNotice,
				To: fmt.Sprintf("8491%07d", i*500+j), Sender: "VneID", Text: strings.Repeat("x", 150), Operator: "viettel"}
			reqs[j] = core.AcceptRequest{Message: m}
			ids = append(ids, m.ID)
		}
		if _, err := s.Accept(ctx, reqs); err != nil {
			t.Fatal(err)
		}
	}
	before := mappedRSS(t, dir)
	if before < 1024 {
		t.Fatalf("only %d kB of the store's files resident before trimming: nothing to test", before)
	}
	if n := s.trimOnce(); n == 0 {
		t.Fatal("trimOnce advised nothing")
	}
	after := mappedRSS(t, dir)
	t.Logf("resident kB of mapped store files: %d before, %d after", before, after)
	if after > before/2 {
		t.Fatalf("resident kB of mapped store files: %d before, %d after trimming", before, after)
	}
	for _, id := range []string{ids[0], ids[len(ids)/2], ids[len(ids)-1]} {
		if _, err := s.Message(ctx, id); err != nil {
			t.Fatalf("message %s after trimming: %v", id, err)
		}
	}
}

// FuzzStoreMappings: any maps text parses without panicking, and every
// range returned is non-empty.
func FuzzStoreMappings(f *testing.F) {
	f.Add([]byte("7f1c2c000000-7f1c2c800000 rw-s 00000000 fd:01 456 /d/00001.mem\n"), "/d")
	f.Add([]byte("7f-7e r--s 0 0:0 1 /d/x.sst (deleted)\n-1 /d/\n"), "/d/")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, maps []byte, dir string) {
		for _, r := range storeMappings(maps, dir) {
			if r.end <= r.start {
				t.Fatalf("empty range %x", r)
			}
		}
		_ = statusKB(maps, dir)
	})
}
