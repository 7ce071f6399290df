package core

import (
	"context"
	"testing"
	"time"
)

type keyMap map[string]*APIKey

func (m keyMap) PutAPIKey(_ context.Context, k *APIKey) error { m[k.ID] = k; return nil }
func (m keyMap) APIKey(_ context.Context, id string) (*APIKey, error) {
	if k, ok := m[id]; ok {
		return k, nil
	}
	return nil, Errorf(ENOTFOUND, "no key")
}
func (m keyMap) APIKeys(context.Context) ([]*APIKey, error) { return nil, nil }

// The cache holds at most its size, expired entries going first.
func TestKeyCacheBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	keys := keyMap{}
	c := NewKeyCache(keys, time.Second, 3, clock)
	var tokens []string
	for i := 0; i < 10; i++ {
		token, k, err := NewAPIKey("k", now)
		if err != nil {
			t.Fatal(err)
		}
		keys[k.ID] = k
		tokens = append(tokens, token)
	}
	for _, tok := range tokens {
		if _, err := c.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if len(c.m) > 3 {
			t.Fatalf("%d entries, size 3", len(c.m))
		}
	}
	now = now.Add(2 * time.Second)
	id, _, _ := splitToken(tokens[0])
	if _, err := c.Authenticate(context.Background(), tokens[0]); err != nil {
		t.Fatal(err)
	}
	if len(c.m) != 1 || c.m[id].key.ID != id {
		t.Fatalf("expired entries kept: %d", len(c.m))
	}
}
