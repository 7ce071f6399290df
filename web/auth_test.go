package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"vneidgw/core"
)

// TestAuthCacheDisable: authenticated keys are cached by the Server, and a
// key disabled through the KeyCache given in Deps is refused at the next
// request.
func TestAuthCacheDisable(t *testing.T) {
	var cache *core.KeyCache
	e := newEnv(t, Config{}, func(d *Deps) {
		cache = core.NewKeyCache(d.Keys, time.Hour, 0, nil)
		d.Keys = cache
	})
	get := func() int { return e.do("GET", "/api/v1/messages?phone=0912345678", "", nil).status }
	if s := get(); s != 200 {
		t.Fatalf("got %d", s)
	}
	if s := get(); s != 200 { // from the cache
		t.Fatalf("got %d", s)
	}
	id := strings.SplitN(strings.TrimPrefix(e.token, "vgw_"), "_", 2)[0]
	k, err := e.store.APIKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	k.Disabled = true
	if err := cache.PutAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	if s := get(); s != 401 {
		t.Fatalf("disabled key: got %d", s)
	}
}
