package store

import (
	"testing"

	"github.com/dgraph-io/ristretto/v2/z"
)

// The pool is reached through Badger's unexported field: an upgrade that
// moves it must fail here, not silently keep the idle buffers.
func TestBadgerAllocPoolFound(t *testing.T) {
	s := openStore(t, testConfig(t))
	if badgerAllocPool(s.db) == nil {
		t.Fatal("Badger's table-builder allocator pool not found (field allocPool)")
	}
	if badgerAllocPool(nil) != nil {
		t.Fatal("a nil database has no pool")
	}
}

func TestTrimAllocPoolReleasesGrownAllocators(t *testing.T) {
	pool := z.NewAllocatorPool(poolSlots)
	defer pool.Release()

	// As Badger's table builders leave them: one that built a compaction
	// table (its first 2 MiB buffer) and one that built a flushed memtable
	// (grown to 2 + 4 + 8 MiB).
	small := pool.Get(2<<20, "TableBuilder")
	grown := pool.Get(2<<20, "TableBuilder")
	for range 10 {
		grown.Allocate(1 << 20)
	}
	grownBytes := int64(grown.Allocated())
	if grownBytes <= poolKeepMax {
		t.Fatalf("test setup: the grown allocator holds %d bytes", grownBytes)
	}
	pool.Return(small)
	pool.Return(grown)

	if freed := trimAllocPool(pool); freed != grownBytes {
		t.Fatalf("released %d bytes, want the grown allocator's %d", freed, grownBytes)
	}
	// The small one is back in the pool, and only it: the next Get after it
	// makes a new allocator.
	if a := pool.Get(2<<20, "TableBuilder"); a != small {
		t.Fatalf("first Get after the trim: %p, want the kept allocator %p", a, small)
	}
	if a := pool.Get(2<<20, "TableBuilder"); a == grown {
		t.Fatal("the grown allocator went back to the pool")
	}
	// The trimmer's own probes (the pool was empty) are not left in it.
	if freed := trimAllocPool(pool); freed != 0 {
		t.Fatalf("an empty pool released %d bytes", freed)
	}
	if a := pool.Get(2<<20, "TableBuilder"); a.Allocated() != 2<<20 {
		t.Fatalf("Get on a trimmed empty pool returned an allocator of %d bytes, want a new one of 2 MiB", a.Allocated())
	}
}
