package store

import (
	"hash/maphash"
	"strings"
	"sync"
)

// Refilled records in the message cache. A bulk upload spills most of its
// messages to disk at once (the lanes hold a few thousand); the refiller
// reads them back seconds later, and their events (submit responses,
// receipts) followed soon after, each missing the cache and reading the
// same record from Badger again (a tenth of the bulk's CPU). So the
// refiller hands the records it read to the writer, which puts them into
// the cache's refilled segment before applying its next batch.
//
// A record the refiller read may be stale by then: a batch that was not
// yet visible to the refiller's snapshot may have written it since. The
// writer stamps, per hash slot of a message id, the sequence number of the
// last batch that wrote an m/ key hashing there (stampMessage, on every
// write in the overlay); the refiller notes the sequence number of the last
// batch known to be visible (visibleStamp, every batch up to it answered by
// Badger) before it opens its snapshot. A record is cached only if no
// batch after that one wrote its slot and the cache does not hold the
// message already. Collisions only skip records (a cache miss, as before).

// maxHanded bounds the records waiting for the writer (it drains them at
// every batch; an idle writer has no events to serve them to anyway).
const maxHanded = 1 << 15

// stampSlots is the size of the stamp table (512 KiB of uint64).
const stampSlots = 1 << 16

// refilled is a record the refiller read, with the visible stamp its
// snapshot covers.
type refilled struct {
	id      string
	raw     []byte
	visible uint64
}

// refillCache is the hand-off from the refiller to the writer plus the
// writer's stamp table.
type refillCache struct {
	seed maphash.Seed

	mu    sync.Mutex
	inbox []refilled

	// Writer-owned.
	stamps []uint64
	spare  []refilled
}

func (c *refillCache) init() {
	c.seed = maphash.MakeSeed()
	c.stamps = make([]uint64, stampSlots)
}

func (c *refillCache) slot(id string) int {
	return int(maphash.String(c.seed, id) & (stampSlots - 1))
}

// stampMessage records that the writer's batch stamp wrote key, if it is a
// message key; writer goroutine.
func (c *refillCache) stampMessage(key string, stamp uint64) {
	if c.stamps == nil || !strings.HasPrefix(key, pfxMessage) {
		return
	}
	c.stamps[c.slot(key[len(pfxMessage):])] = stamp
}

// hand queues records the refiller read from a snapshot taken when every
// batch up to stamp visible had been answered; refiller goroutine, before
// the messages are offered (their events come only after).
func (c *refillCache) hand(recs []refilled) {
	if len(recs) == 0 {
		return
	}
	c.mu.Lock()
	if len(c.inbox) < maxHanded {
		c.inbox = append(c.inbox, recs...)
	}
	c.mu.Unlock()
}

// drainInto puts the handed records into mc that no later batch wrote;
// writer goroutine, before a batch is applied.
func (c *refillCache) drainInto(mc *kvCache) {
	c.mu.Lock()
	recs := c.inbox
	c.inbox = c.spare[:0]
	c.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		if e, ok := mc.get(r.id); ok {
			// The writer's value is current: keep it, for as long as a
			// refilled one (the accepted segment turns over fastest).
			if e.seg < segRefilled {
				mc.put(r.id, e.v, e.at, segRefilled)
			}
		} else if c.stamps[c.slot(r.id)] <= r.visible {
			mc.put(r.id, r.raw, 0, segRefilled)
		}
		*r = refilled{}
	}
	c.spare = recs[:0]
}

// drop forgets the handed records (after a failed commit, with the
// caches); writer goroutine.
func (c *refillCache) drop() {
	c.mu.Lock()
	clear(c.inbox)
	c.inbox = c.inbox[:0]
	c.mu.Unlock()
}
