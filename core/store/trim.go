package store

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// Badger maps its files (tables, write-ahead logs, value log) into memory
// and writes tables through those mappings, with no option against it. Every
// page it touches then counts in the process's RSS until the file is
// unmapped, although it is page cache the kernel could drop at any time: a
// store that has compacted a few hundred megabytes shows as many in RSS.
//
// The trimmer keeps that share bounded: every TrimInterval, when the
// file-backed RSS is over TrimAbove, it asks the kernel to page out the
// mapped ranges of the store's own files (madvise MADV_PAGEOUT, Linux ≥ 5.4;
// a no-op elsewhere). Dirty pages are written back first, nothing is lost,
// and a page read again is faulted back in from the page cache or the disk.
// MADV_PAGEOUT never discards data, so a range Badger unmapped (and the
// address space reused) meanwhile is safe too.
//
// The check is cheap (one read of /proc/self/status), so it runs often: a
// compaction maps tens of megabytes of tables within 200 ms. Checking every
// 50 ms instead of 200 kept the 1M-approval backlog's file-backed peaks at
// 87–92 MB instead of 102–111, and its peak RSS at 223–242 MB instead of
// 246–258 (4 paired runs), at no measurable CPU cost.
//
// The newest value-log file is left alone: it holds the messages accepted
// last, which the writer, the queue's refill and the API read back within
// seconds. Paged out, each of those reads was a major fault waiting for the
// disk behind the fsyncs (the writer took 93 of them in one bulk bench,
// 6–17 in a single batch that then took 30–80 ms instead of a few, while
// an OTP's accept waited behind it).

// mappedRange is one mapping of a store file.
type mappedRange struct {
	start, end uintptr
	vlog       int64 // the value-log file's number, or -1 for other files
}

// storeMappings returns the mappings of files under dir listed in a
// /proc/<pid>/maps text.
func storeMappings(maps []byte, dir string) []mappedRange {
	prefix := []byte(filepath.Clean(dir) + "/")
	var out []mappedRange
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		// start-end perms offset dev inode path
		i := bytes.Index(line, prefix)
		if i < 0 {
			continue
		}
		dash := bytes.IndexByte(line, '-')
		sp := bytes.IndexByte(line, ' ')
		if dash <= 0 || sp <= dash || sp > i {
			continue
		}
		start, err1 := strconv.ParseUint(string(line[:dash]), 16, 64)
		end, err2 := strconv.ParseUint(string(line[dash+1:sp]), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mappedRange{uintptr(start), uintptr(end), vlogNumber(line[i+len(prefix):])})
	}
	return out
}

// vlogNumber returns the number of a value-log file name ("000012.vlog",
// maybe followed by " (deleted)"), or -1.
func vlogNumber(name []byte) int64 {
	name, _, _ = bytes.Cut(name, []byte(" "))
	num, ok := bytes.CutSuffix(name, []byte(".vlog"))
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// trimmable returns the ranges to page out: all but those of the newest
// value-log file.
func trimmable(ranges []mappedRange) []mappedRange {
	newest := int64(-1)
	for _, r := range ranges {
		newest = max(newest, r.vlog)
	}
	var out []mappedRange
	for _, r := range ranges {
		if r.vlog < 0 || r.vlog != newest {
			out = append(out, r)
		}
	}
	return out
}

// statusKB returns a "<key>: <n> kB" field of a /proc/<pid>/status text
// (-1 when absent).
func statusKB(status []byte, key string) int64 {
	k := []byte(key + ":")
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		if !bytes.HasPrefix(line, k) {
			continue
		}
		f := bytes.Fields(line[len(k):])
		if len(f) == 0 {
			return -1
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}

// trimOnce pages out the store's mappings if the file-backed RSS is over
// TrimAbove. It reports the bytes of the ranges advised.
func (s *Store) trimOnce() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	if kb := statusKB(status, "RssFile"); kb < 0 || kb*1024 < s.cfg.TrimAbove {
		return 0
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	var n int64
	for _, r := range trimmable(storeMappings(maps, s.trimDir)) {
		if pageOut(r.start, r.end-r.start) == nil {
			n += int64(r.end - r.start)
		}
	}
	s.metrics.trims.Inc()
	return n
}
