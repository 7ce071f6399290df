package store

import (
	"context"
	"sync"

	"vneidgw/core"
)

// keyClaims serialises the account creations that touch the same ID number
// or phone. A creation skips Badger's lookup of a key the key filter knows
// is new, so that lookup is not in its transaction's read set and Badger's
// conflict detection would not see two creations of one key race; holding
// the key's claim from the check to the commit does instead. Only
// creations write new xa/ and xp/ keys (an account's ID number and phone
// never change), so creations are all that must be serialised.
type keyClaims struct {
	mu   sync.Mutex
	held map[string]chan struct{} // key → closed when its holder releases
}

func newKeyClaims() *keyClaims { return &keyClaims{held: make(map[string]chan struct{})} }

// claim takes every key of keys at once, waiting while another creation
// holds any of them (all or none: two creations cannot deadlock). The
// returned func releases them.
func (c *keyClaims) claim(ctx context.Context, keys []string) (release func(), err error) {
	for {
		c.mu.Lock()
		var busy chan struct{}
		for _, k := range keys {
			if ch, ok := c.held[k]; ok {
				busy = ch
				break
			}
		}
		if busy == nil {
			done := make(chan struct{})
			for _, k := range keys {
				c.held[k] = done
			}
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				for _, k := range keys {
					if c.held[k] == done {
						delete(c.held, k)
					}
				}
				c.mu.Unlock()
				close(done)
			}, nil
		}
		c.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, core.Errorf(core.EUNAVAILABLE, "store: %w", ctx.Err())
		}
	}
}
