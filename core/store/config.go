package store

import (
	"fmt"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"
)

// Config configures a Store.
type Config struct {
	// Dir is the database directory (ignored when InMemory).
	Dir string
	// InMemory keeps everything in memory (tests and the demo only).
	InMemory bool
	// SyncWrites fsyncs every group commit; DefaultConfig turns it on.
	// Without it an accepted message can be lost in a power cut.
	SyncWrites bool
	// MemoryBudget is the memory Badger may use for memtables and caches,
	// in bytes (default 64 MiB): an eighth to each of the two memtables
	// (clamped to 8–32 MiB), a quarter to the block cache (4–16 MiB), an
	// eighth to the index cache (2–16 MiB).
	MemoryBudget int64
	// LaneCap bounds the in-memory FIFO of each OTP and notice lane
	// (default 256); ApprovalLaneCap that of approval lanes (default 2048).
	// Messages beyond stay on disk and are read back in order.
	LaneCap         int
	ApprovalLaneCap int
	// MaxBatch bounds the items (messages, events, keys) the writer groups
	// into one commit (default 4096).
	MaxBatch int
	// ValueThreshold: values of at least this many bytes go to Badger's
	// value log and the LSM tree keeps a pointer (default 256). Message
	// records (~400–600 B) and accounts are written once to the value log
	// instead of to the write-ahead log, L0 and every compaction after;
	// small records (indexes, correlations, queue keys) stay in the tree.
	ValueThreshold int64
	// ValueLogFileSize is the size of each value-log file (default 32 MiB).
	// Files are written through mmap and count as resident memory while
	// hot; GC rewrites a file at a time.
	ValueLogFileSize int64
	// GCInterval is the period of value-log garbage collection (default
	// 5 min; negative disables it).
	GCInterval time.Duration
	// PendingDLRTTL is how long a receipt that came before its submit
	// response is kept (default 1 h).
	PendingDLRTTL time.Duration
	// MessageCache bounds the records of messages not yet final that the
	// writer keeps in memory for the events that follow (default 4096, plus
	// four times as many just accepted into a lane's memory and four times
	// as many read back from disk by the refiller; negative disables it).
	MessageCache int
	// ReportsWanted: a final message writes a report to the outbox. When
	// false (no webhook is configured), only messages with a CallbackURL
	// get one. DefaultConfig sets it.
	ReportsWanted bool
	// TrimInterval and TrimAbove: every TrimInterval (default 50 ms; negative
	// disables), when the file-backed RSS (Badger's mapped files) is over
	// TrimAbove bytes (default 64 MiB), those mappings are paged out; see
	// trim.go.
	TrimInterval time.Duration
	TrimAbove    int64
	// KeyFilterBytes bounds the in-memory filter of existing application,
	// idempotency, account and phone keys (keyfilter.go; default 32 MiB,
	// about 22 million keys; negative disables it). Past it the filter
	// switches off and every such lookup reads Badger.
	KeyFilterBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time

	// tune, when set (by this package's tests only), adjusts the Badger
	// options last.
	tune func(badger.Options) badger.Options
}

// DefaultConfig returns the production configuration for a database in dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:              dir,
		SyncWrites:       true,
		MemoryBudget:     64 << 20,
		LaneCap:          256,
		ApprovalLaneCap:  2048,
		MaxBatch:         4096,
		ValueThreshold:   256,
		ValueLogFileSize: 32 << 20,
		GCInterval:       5 * time.Minute,
		PendingDLRTTL:    time.Hour,
		MessageCache:     4096,
		ReportsWanted:    true,
		TrimInterval:     50 * time.Millisecond,
		TrimAbove:        64 << 20,
		KeyFilterBytes:   32 << 20,
	}
}

func (c *Config) setDefaults() error {
	d := DefaultConfig(c.Dir)
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = d.MemoryBudget
	}
	if c.LaneCap <= 0 {
		c.LaneCap = d.LaneCap
	}
	if c.ApprovalLaneCap <= 0 {
		c.ApprovalLaneCap = d.ApprovalLaneCap
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.ValueThreshold <= 0 {
		c.ValueThreshold = d.ValueThreshold
	}
	if c.ValueLogFileSize <= 0 {
		c.ValueLogFileSize = d.ValueLogFileSize
	}
	if c.ValueLogFileSize < 1<<20 || c.ValueLogFileSize >= 2<<30 {
		return fmt.Errorf("store: value log file size %d is outside 1 MiB–2 GiB", c.ValueLogFileSize)
	}
	if c.GCInterval == 0 {
		c.GCInterval = d.GCInterval
	}
	if c.PendingDLRTTL <= 0 {
		c.PendingDLRTTL = d.PendingDLRTTL
	}
	if c.MessageCache == 0 {
		c.MessageCache = d.MessageCache
	}
	if c.TrimInterval == 0 {
		c.TrimInterval = d.TrimInterval
	}
	if c.TrimAbove <= 0 {
		c.TrimAbove = d.TrimAbove
	}
	if c.KeyFilterBytes == 0 {
		c.KeyFilterBytes = d.KeyFilterBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if !c.InMemory && c.Dir == "" {
		return fmt.Errorf("store: no directory configured")
	}
	return nil
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

// badgerOptions tunes Badger for a small footprint and few bytes written:
// records of ValueThreshold bytes or more (messages, accounts) are written
// once to the value log; the LSM tree, rewritten by every flush and
// compaction, holds small records and pointers. With everything in the
// tree (threshold 4 KiB) the bulk bench spent 20–25% more CPU per message,
// most of it in compactions and msync, and the commit p99 was twice as
// high (measured with make bench; see the pipeline issue's notes).
func (c *Config) badgerOptions(log zerolog.Logger) badger.Options {
	memtable := clamp(c.MemoryBudget/8, 8<<20, 32<<20)
	o := badger.DefaultOptions(c.Dir).
		WithInMemory(c.InMemory).
		WithSyncWrites(c.SyncWrites).
		WithMemTableSize(memtable).
		WithNumMemtables(2).
		// Let L0 gather more tables before compacting them into a larger
		// L1: records are rewritten several times in their life, so fewer,
		// larger compactions write (and msync) less.
		WithNumLevelZeroTables(20).
		WithNumLevelZeroTablesStall(30).
		WithBaseLevelSize(128 << 20).
		WithBlockCacheSize(clamp(c.MemoryBudget/4, 4<<20, 16<<20)).
		WithIndexCacheSize(clamp(c.MemoryBudget/8, 2<<20, 16<<20)).
		WithNumVersionsToKeep(1).
		// Every approval looks up keys that do not exist yet (its
		// application, account and phone), each through every L0 table:
		// at Badger's 1% false positives a fifth of those lookups went on
		// to seek a table. At 0.1% the bulk bench spent 7% less gateway
		// CPU per approval (3 paired runs, gateway/simulator CPU ratio
		// 5.87 -> 5.43); 0.01% was no better.
		WithBloomFalsePositive(0.001).
		WithValueThreshold(c.ValueThreshold).
		// The value log is written through mmap and its pages count as
		// resident memory: keep its files small.
		WithValueLogFileSize(c.ValueLogFileSize).
		WithNumCompactors(2).
		// Table builders hold about 4× a table while flushing/compacting
		// and were most of the heap: small tables keep it (and GC) down.
		WithBaseTableSize(1 << 20).
		WithNumGoroutines(2).
		// Records are small and short-lived; compression cost more CPU in
		// flushes, compactions and reads than it saved (measured with make bench).
		WithCompression(options.None).
		// The activation stores (accounts, OTPs, daily caps, throttles)
		// share this database and count attempts with optimistic
		// read-modify-write transactions retried on ErrConflict: without
		// conflict detection, concurrent guesses all passed a cap of 7
		// (TestOTPStoreConcurrentCounters). The message writer's
		// transactions only write, so the check costs it little.
		WithDetectConflicts(true).
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{log: log.With().Str("component", "badger").Logger()})
	if c.InMemory {
		o = o.WithDir("").WithValueDir("")
	}
	if c.tune != nil {
		o = c.tune(o)
	}
	return o
}

// badgerLogger adapts Badger's logger to zerolog at warning level: Badger's
// info and debug lines are dropped.
type badgerLogger struct{ log zerolog.Logger }

func (l badgerLogger) Errorf(f string, a ...any) {
	l.log.Error().Msg(strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (l badgerLogger) Warningf(f string, a ...any) {
	l.log.Warn().Msg(strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
