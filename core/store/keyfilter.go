package store

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// keyFilter answers "might this key exist?" for the keys that the accept
// and account-creation paths look up before they write them, and that are
// almost always new: applications (a/), idempotency keys (i/), accounts
// (xa/) and account phones (xp/). A "no" is certain and skips Badger's
// lookup, which walks both memtables and the bloom filter of every level-0
// table (about a tenth of the gateway's CPU in the bulk bench); a "maybe"
// does the lookup as before.
//
// It is a scalable bloom filter: a chain of blocked filters (each key sets
// filterProbes bits within one 64-byte block, so a probe costs one cache
// line), each with twice the capacity of the one before, at filterBitsPerKey
// bits per key (about 0.7% false positives per segment). Keys are never
// removed; a deleted key is a false positive, which only costs a lookup.
//
// Until the scan of the existing keys at Open has finished, and for good
// once the filter would outgrow its byte budget, every answer is "maybe".
//
// Correctness rests on one rule: a key is added before the write that
// creates it can be seen (the writer adds at apply time; account creation
// under its claims, account_claims.go). All methods are safe for
// concurrent use.
type keyFilter struct {
	seed     maphash.Seed
	maxBytes int64
	log      zerolog.Logger

	ready atomic.Bool // the scan of existing keys is done
	off   atomic.Bool // over budget: always "maybe"
	// skipped counts the "certainly absent" answers (for the metrics).
	skipped atomic.Int64

	mu   sync.Mutex // serialises growth
	segs atomic.Pointer[[]*filterSeg]
	size atomic.Int64 // bytes of all segments
}

const (
	filterBitsPerKey  = 12
	filterProbes      = 6
	filterFirstCap    = 1 << 16 // keys of the first segment
	filterBlockWords  = 8       // 512 bits: one cache line
	filterBlockBitLog = 9
)

// filterSeg is one blocked bloom filter of fixed capacity.
type filterSeg struct {
	words   []uint64
	nblocks uint64
	capKeys int64
	n       atomic.Int64 // keys added
}

func newFilterSeg(capKeys int64) *filterSeg {
	nblocks := uint64(capKeys*filterBitsPerKey+511) / 512
	return &filterSeg{words: make([]uint64, nblocks*filterBlockWords), nblocks: nblocks, capKeys: capKeys}
}

func (f *filterSeg) bytes() int64 { return int64(len(f.words)) * 8 }

// block returns the first word of h's block; the probes come from the
// hash's bits mixed again (the block index uses its high product bits).
func (f *filterSeg) block(h uint64) (base uint64, probes uint64) {
	hi, _ := bits.Mul64(h, f.nblocks)
	return hi * filterBlockWords, h*0x9E3779B97F4A7C15 ^ h>>29
}

func (f *filterSeg) add(h uint64) {
	base, p := f.block(h)
	for range filterProbes {
		bit := p & (1<<filterBlockBitLog - 1)
		atomic.OrUint64(&f.words[base+bit>>6], 1<<(bit&63))
		p >>= filterBlockBitLog
	}
}

func (f *filterSeg) has(h uint64) bool {
	base, p := f.block(h)
	for range filterProbes {
		bit := p & (1<<filterBlockBitLog - 1)
		if atomic.LoadUint64(&f.words[base+bit>>6])&(1<<(bit&63)) == 0 {
			return false
		}
		p >>= filterBlockBitLog
	}
	return true
}

// newKeyFilter returns an empty filter that may grow to maxBytes (a value
// under one first segment disables it: always "maybe").
func newKeyFilter(maxBytes int64, log zerolog.Logger) *keyFilter {
	f := &keyFilter{seed: maphash.MakeSeed(), maxBytes: maxBytes, log: log}
	first := newFilterSeg(filterFirstCap)
	if first.bytes() > maxBytes {
		f.off.Store(true)
		segs := []*filterSeg{}
		f.segs.Store(&segs)
		return f
	}
	segs := []*filterSeg{first}
	f.segs.Store(&segs)
	f.size.Store(first.bytes())
	return f
}

// mayContain reports whether key may exist: false only when it certainly
// does not.
func (f *keyFilter) mayContain(key []byte) bool {
	if f == nil || !f.ready.Load() || f.off.Load() {
		return true
	}
	h := maphash.Bytes(f.seed, key)
	for _, s := range *f.segs.Load() {
		if s.has(h) {
			return true
		}
	}
	f.skipped.Add(1)
	return false
}

// add records key. Past the byte budget the filter switches itself off.
func (f *keyFilter) add(key []byte) {
	if f == nil || f.off.Load() {
		return
	}
	h := maphash.Bytes(f.seed, key)
	segs := *f.segs.Load()
	last := segs[len(segs)-1]
	if last.n.Add(1) > last.capKeys {
		if last = f.grow(last); last == nil {
			return
		}
	}
	last.add(h)
}

// grow appends a segment of twice full's capacity, unless another add did
// already; it returns the segment to add to, or nil once over budget.
func (f *keyFilter) grow(full *filterSeg) *filterSeg {
	f.mu.Lock()
	defer f.mu.Unlock()
	segs := *f.segs.Load()
	if last := segs[len(segs)-1]; last != full {
		last.n.Add(1)
		return last
	}
	next := newFilterSeg(full.capKeys * 2)
	if f.size.Load()+next.bytes() > f.maxBytes {
		if f.off.CompareAndSwap(false, true) && f.ready.Load() {
			f.log.Warn().Int64("bytes", f.size.Load()).
				Msg("store: key filter over its limit (key_filter_limit); every lookup reads the database from now on")
		}
		return nil
	}
	grown := append(append(make([]*filterSeg, 0, len(segs)+1), segs...), next)
	f.segs.Store(&grown)
	f.size.Add(next.bytes())
	next.n.Add(1)
	return next
}

// bytes is the memory the filter holds.
func (f *keyFilter) bytes() int64 {
	if f == nil {
		return 0
	}
	return f.size.Load()
}

// keyFilterPrefixes are the key families the filter holds.
var keyFilterPrefixes = [...]string{pfxApplication, pfxIdempotency, pfxAccount, pfxAccountPhone}

// scanKeyFilter adds the keys already in the database and then lets the
// filter answer (a background goroutine counted in s.wg). Keys written
// meanwhile are added by their writers, so the filter misses none.
func (s *Store) scanKeyFilter() {
	defer s.wg.Done()
	if s.kf.off.Load() {
		s.log.Info().Int64("limit", s.cfg.KeyFilterBytes).Msg("store: no key filter (key_filter_limit under one segment); every lookup reads the database")
		return
	}
	start := time.Now()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		for _, pfx := range keyFilterPrefixes {
			opts := badger.DefaultIteratorOptions
			opts.PrefetchValues = false
			opts.Prefix = []byte(pfx)
			it := txn.NewIterator(opts)
			for it.Rewind(); it.Valid(); it.Next() {
				if n++; n%4096 == 0 {
					select {
					case <-s.stop:
						it.Close()
						return errClosed()
					default:
					}
					if s.kf.off.Load() {
						it.Close()
						return nil
					}
				}
				s.kf.add(it.Item().Key())
			}
			it.Close()
		}
		return nil
	})
	ev, msg := s.log.Info(), "store: key filter loaded"
	switch {
	case err != nil:
		ev, msg = s.log.Warn().Err(err), "store: key filter not loaded; every lookup reads the database"
	case s.kf.off.Load():
		ev, msg = s.log.Warn(), "store: key filter over its limit (key_filter_limit); every lookup reads the database"
	default:
		s.kf.ready.Store(true)
	}
	ev.Int("keys", n).Int64("bytes", s.kf.bytes()).Dur("took", time.Since(start)).Msg(msg)
}
