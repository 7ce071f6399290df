package store

import (
	"reflect"
	"time"
	"unsafe"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Badger builds every table (each memtable flush, each compaction output)
// in a z.Allocator taken from a pool of up to 8 that it keeps for the life
// of the database. An allocator grows by doubling from 2 MiB (twice the
// table size) and keeps its buffers when it goes back to the pool: one that
// built a flushed memtable holds 2 + 4 + 8 MiB. The pool lets an idle
// allocator go only after 2 s without any table being built, which never
// happens under load, so after a few minutes of traffic all 8 had grown and
// 96–112 MiB of the heap (measured with the backlog bench's heap profiles)
// was table-builder buffers nobody was using. Live, they set the garbage
// collector's target (twice the live heap, or the memory limit), so they
// cost their size about twice over in RSS.
//
// The pool trimmer takes the idle allocators out of the pool now and then
// and lets go of those that grew past what a compaction's 1 MiB table
// needs; Badger makes a new one when it needs more. Badger offers no option
// for this: the pool is reached through its unexported field, for the
// pinned version (TestBadgerAllocPoolFound fails if an upgrade moves it).

// Pooled allocators holding from poolKeepMin to poolKeepMax bytes go back
// to the pool: Badger's own, sized for one table (2 MiB). Bigger ones are
// released, and so are the small ones trimAllocPool's Get makes when the
// pool is empty.
const (
	poolKeepMin = 1 << 20
	poolKeepMax = 4 << 20
)

// badgerAllocPool returns db's table-builder allocator pool, or nil if this
// Badger version has none where expected.
func badgerAllocPool(db *badger.DB) *z.AllocatorPool {
	if db == nil {
		return nil
	}
	f := reflect.ValueOf(db).Elem().FieldByName("allocPool")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*z.AllocatorPool]() {
		return nil
	}
	return *(**z.AllocatorPool)(unsafe.Pointer(f.UnsafeAddr()))
}

// poolTrimInterval is how often trimAllocPool runs: a memtable flush comes
// every few seconds under load, and between two the grown allocator is
// reused by compactions.
const poolTrimInterval = time.Second

// poolSlots is the capacity of Badger's allocator pool.
const poolSlots = 8

// trimAllocPool releases the allocators idle in pool that hold more than
// poolKeepMax and returns the bytes let go. Only allocators in the pool are
// touched: Get hands each to this goroutine alone, and Return puts it back.
// It must not run once the database is closed (the pool's channel is closed
// then).
func trimAllocPool(pool *z.AllocatorPool) int64 {
	if pool == nil {
		return 0
	}
	var keep [poolSlots]*z.Allocator
	var freed int64
	for i := range keep {
		a := pool.Get(0, "TableBuilder")
		n := a.Allocated()
		if n < poolKeepMin || n > poolKeepMax {
			if n >= poolKeepMin {
				freed += int64(n)
			}
			a.Release()
			continue
		}
		keep[i] = a
	}
	for _, a := range keep {
		if a != nil {
			pool.Return(a)
		}
	}
	return freed
}
