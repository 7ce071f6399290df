package core_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"vneidgw/core"
)

// mapKeys is a KeyStore for the authentication rules alone.
type mapKeys map[string]*core.APIKey

func (m mapKeys) PutAPIKey(_ context.Context, k *core.APIKey) error { m[k.ID] = k; return nil }
func (m mapKeys) APIKey(_ context.Context, id string) (*core.APIKey, error) {
	if k, ok := m[id]; ok {
		return k, nil
	}
	return nil, core.Errorf(core.ENOTFOUND, "no key")
}
func (m mapKeys) APIKeys(context.Context) ([]*core.APIKey, error) { return nil, nil }

func TestAPIKeyAuthenticate(t *testing.T) {
	ctx := context.Background()
	keys := mapKeys{}
	token, k, err := core.NewAPIKey("identity-system", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(k.SecretHash), token) || !strings.HasPrefix(token, "vgw_"+k.ID+"_") {
		t.Fatalf("token %q / key %+v", token, k)
	}
	keys.PutAPIKey(ctx, k)
	got, err := core.Authenticate(ctx, keys, token)
	if err != nil || got.ID != k.ID {
		t.Fatalf("right token refused: %v", err)
	}
	other, _, _ := core.NewAPIKey("x", time.Now())
	_, secret, _ := strings.Cut(strings.TrimPrefix(other, "vgw_"), "_")
	bad := []string{
		"",
		"Bearer " + token,
		token + "x",
		"vgw_" + k.ID + "_" + secret, // right id, someone else's secret
		other,                        // unknown id
		"vgw_nothex0123456789_secretsecretsecret",
		"vgw_" + k.ID,
		strings.Repeat("a", 10000),
	}
	for _, b := range bad {
		_, err := core.Authenticate(ctx, keys, b)
		if core.ErrorCode(err) != core.EUNAUTHORIZED || core.ErrorMessage(err) != "invalid API key" {
			t.Errorf("token %.40q: want the one unauthorized answer, got %v", b, err)
		}
	}
	k.Disabled = true
	if _, err := core.Authenticate(ctx, keys, token); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("disabled key accepted: %v", err)
	}
}

func TestAPIKeyFromToken(t *testing.T) {
	if _, err := core.APIKeyFromToken("demo", "vgw_0123456789abcdef_short", time.Now()); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("short secret accepted: %v", err)
	}
	tok := "vgw_0123456789abcdef_" + strings.Repeat("s", 20)
	k, err := core.APIKeyFromToken("demo", tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := mapKeys{k.ID: k}
	if _, err := core.Authenticate(context.Background(), keys, tok); err != nil {
		t.Fatal(err)
	}
}

func TestNewIDOrderedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	t0 := time.Unix(1700000000, 0)
	prev := ""
	for i := 0; i < 10000; i++ {
		id := core.NewID(t0.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 || seen[id] {
			t.Fatalf("id %q (len %d) repeated or wrong length", id, len(id))
		}
		if id <= prev {
			t.Fatalf("ids not time-ordered: %q after %q", id, prev)
		}
		seen[id], prev = true, id
	}
}

func TestErrorVocabulary(t *testing.T) {
	cause := context.DeadlineExceeded
	err := core.Errorf(core.EUNAVAILABLE, "store: %w", cause)
	if core.ErrorCode(err) != core.EUNAVAILABLE || !strings.Contains(core.ErrorMessage(err), "store") {
		t.Fatalf("%v", err)
	}
	if !errorsIs(err, cause) {
		t.Fatal("cause not wrapped")
	}
	if core.ErrorCode(cause) != core.EINTERNAL || core.ErrorMessage(cause) != "internal error" {
		t.Fatal("foreign errors must be internal with a safe message")
	}
	if core.ErrorCode(nil) != "" {
		t.Fatal("nil has no code")
	}
}

// countingKeys counts store reads; block, when set, holds a read until it
// is closed.
type countingKeys struct {
	mapKeys
	mu    sync.Mutex
	reads int
	block chan struct{}
	read  chan struct{} // a read has started (when block is set)
}

func (c *countingKeys) APIKey(ctx context.Context, id string) (*core.APIKey, error) {
	c.mu.Lock()
	c.reads++
	block := c.block
	k, err := c.mapKeys.APIKey(ctx, id)
	var cp *core.APIKey
	if k != nil {
		v := *k
		cp = &v // a store returns a fresh record
	}
	c.mu.Unlock()
	if block != nil {
		c.read <- struct{}{}
		<-block
	}
	return cp, err
}

func (c *countingKeys) put(k *core.APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := *k
	c.mapKeys[k.ID] = &v
}

func (c *countingKeys) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestKeyCache(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	store := &countingKeys{mapKeys: mapKeys{}}
	cache := core.NewKeyCache(store, 10*time.Second, 8, clock.Now)
	token, k, _ := core.NewAPIKey("identity-system", clock.Now())
	if err := cache.PutAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		got, err := cache.Authenticate(ctx, token)
		if err != nil || got.ID != k.ID {
			t.Fatalf("right token refused: %v", err)
		}
		got.Name = "changed by a caller" // a copy: the cache is not affected
	}
	if n := store.count(); n != 1 {
		t.Fatalf("%d store reads for 5 authentications, want 1", n)
	}
	if got, _ := cache.Authenticate(ctx, token); got.Name != "identity-system" {
		t.Fatalf("cached key changed by a caller: %+v", got)
	}
	// A wrong secret for a cached id is refused (and read from the store).
	other, _, _ := core.NewAPIKey("x", clock.Now())
	_, secret, _ := strings.Cut(strings.TrimPrefix(other, "vgw_"), "_")
	if _, err := cache.Authenticate(ctx, "vgw_"+k.ID+"_"+secret); core.ErrorCode(err) != core.EUNAUTHORIZED || core.ErrorMessage(err) != "invalid API key" {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := cache.Authenticate(ctx, token+"x"); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("longer secret: %v", err)
	}
	// Failures are not cached.
	before := store.count()
	for i := 0; i < 3; i++ {
		if _, err := cache.Authenticate(ctx, other); core.ErrorCode(err) != core.EUNAUTHORIZED {
			t.Fatal(err)
		}
	}
	if store.count() != before+3 {
		t.Fatal("a failed authentication was cached")
	}

	// Disabled through the cache: refused at once.
	disabled := *k
	disabled.Disabled = true
	if err := cache.PutAPIKey(ctx, &disabled); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Authenticate(ctx, token); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("key disabled through the cache still accepted: %v", err)
	}
	// Enabled again, cached, then disabled behind the cache's back: served
	// until the TTL runs out, refused after.
	if err := cache.PutAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	store.put(&disabled)
	clock.add(9 * time.Second)
	if _, err := cache.Authenticate(ctx, token); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	clock.add(time.Second)
	if _, err := cache.Authenticate(ctx, token); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("key disabled in the store still accepted after the TTL: %v", err)
	}
}

// TestKeyCacheDisableDuringLookup: a lookup that read the key before it
// was disabled through the cache must not put the stale key in the cache.
func TestKeyCacheDisableDuringLookup(t *testing.T) {
	ctx := context.Background()
	store := &countingKeys{mapKeys: mapKeys{}}
	cache := core.NewKeyCache(store, time.Hour, 0, nil)
	token, k, _ := core.NewAPIKey("identity-system", time.Now())
	store.put(k)
	release := make(chan struct{})
	store.block, store.read = release, make(chan struct{}, 1)
	done := make(chan error)
	go func() {
		_, err := cache.Authenticate(ctx, token)
		done <- err
	}()
	<-store.read // the lookup has read the enabled key and waits
	store.mu.Lock()
	store.block = nil
	store.mu.Unlock()
	disabled := *k
	disabled.Disabled = true
	if err := cache.PutAPIKey(ctx, &disabled); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the lookup that started before the change: %v", err)
	}
	if _, err := cache.Authenticate(ctx, token); core.ErrorCode(err) != core.EUNAUTHORIZED {
		t.Fatalf("stale enabled key served from the cache: %v", err)
	}
}
