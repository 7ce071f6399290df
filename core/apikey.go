package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// API key tokens look like "vgw_<id>_<secret>": id is 16 hex characters,
// secret 43 base64url characters (32 random bytes). Only SHA-256 of the
// secret is stored; the secret has 256 bits of entropy, so a slow hash
// would add nothing.
const apiKeyPrefix = "vgw_"

// NewAPIKey returns a new key record and its token, which is shown once.
func NewAPIKey(name string, now time.Time) (token string, key *APIKey, err error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return "", nil, Errorf(EINVALID, "api key name: 1 to 64 characters")
	}
	var idb [8]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", nil, Errorf(EINTERNAL, "api key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, Errorf(EINTERNAL, "api key: %w", err)
	}
	id := hex.EncodeToString(idb[:])
	sec := hex.EncodeToString(secret[:])
	return APIKeyToken(id, sec), &APIKey{ID: id, Name: name, SecretHash: hashSecret(sec), CreatedAt: now}, nil
}

// APIKeyFromToken builds the record for a token chosen by the operator
// (VNEIDGW_API_KEY in demo mode). The token must have the vgw_<id>_<secret>
// form with at least 16 secret characters.
func APIKeyFromToken(name, token string, now time.Time) (*APIKey, error) {
	id, secret, ok := splitToken(token)
	if !ok || len(secret) < 16 {
		return nil, Errorf(EINVALID, "api key: want vgw_<16 hex id>_<secret of at least 16 characters>")
	}
	return &APIKey{ID: id, Name: name, SecretHash: hashSecret(secret), CreatedAt: now}, nil
}

// APIKeyToken joins an id and a secret into a bearer token.
func APIKeyToken(id, secret string) string { return apiKeyPrefix + id + "_" + secret }

// Authenticate checks a bearer token against the key store and returns its
// key. Every failure is EUNAUTHORIZED with the same message.
func Authenticate(ctx context.Context, keys KeyStore, token string) (*APIKey, error) {
	id, secret, ok := splitToken(token)
	if !ok {
		return nil, Errorf(EUNAUTHORIZED, "invalid API key")
	}
	k, err := keys.APIKey(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			// Hash anyway so that an unknown id costs the same as a wrong secret.
			subtle.ConstantTimeCompare(hashSecret(secret), make([]byte, sha256.Size))
			return nil, Errorf(EUNAUTHORIZED, "invalid API key")
		}
		return nil, err
	}
	if subtle.ConstantTimeCompare(hashSecret(secret), k.SecretHash) != 1 || k.Disabled {
		return nil, Errorf(EUNAUTHORIZED, "invalid API key")
	}
	return k, nil
}

func splitToken(token string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, apiKeyPrefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	if !found || len(id) != 16 || secret == "" || len(secret) > 128 {
		return "", "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	return id, secret, true
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Defaults of NewKeyCache.
const (
	// DefaultKeyCacheTTL bounds how long a successful authentication is
	// reused without reading the key store. A change made through the
	// KeyCache itself (PutAPIKey: adding or disabling a key) takes effect at
	// once; a change made to the store behind the cache's back (another
	// process, or code holding the store itself) takes effect within this
	// time. 10 s keeps the per-request Badger read and SHA-256 off the hot
	// path while keeping a disabled key's grace period short.
	DefaultKeyCacheTTL = 10 * time.Second
	// DefaultKeyCacheSize bounds the cached keys (one entry per key id,
	// only for keys that authenticated).
	DefaultKeyCacheSize = 1024
)

// KeyCache is a KeyStore that remembers successful authentications for a
// short time (see DefaultKeyCacheTTL). Failures are never cached: an
// unknown id or a wrong secret costs the store read and the hash every
// time, as with Authenticate. Safe for concurrent use.
type KeyCache struct {
	keys KeyStore
	ttl  time.Duration
	size int
	now  func() time.Time

	mu  sync.Mutex
	gen uint64 // incremented by every PutAPIKey: lookups started before it do not fill the cache
	m   map[string]keyCacheEntry
}

type keyCacheEntry struct {
	secret  string // the secret part that authenticated (compared in constant time)
	key     APIKey
	expires time.Time
}

var _ KeyStore = (*KeyCache)(nil)

// NewKeyCache wraps keys. ttl ≤ 0 means DefaultKeyCacheTTL, size ≤ 0
// DefaultKeyCacheSize; now may be nil (time.Now).
func NewKeyCache(keys KeyStore, ttl time.Duration, size int, now func() time.Time) *KeyCache {
	if ttl <= 0 {
		ttl = DefaultKeyCacheTTL
	}
	if size <= 0 {
		size = DefaultKeyCacheSize
	}
	return &KeyCache{keys: keys, ttl: ttl, size: size, now: nowFunc(now), m: make(map[string]keyCacheEntry)}
}

// PutAPIKey implements KeyStore: it stores k and forgets the cached
// authentication of its id, so that a disabled key is refused from the
// next request on.
func (c *KeyCache) PutAPIKey(ctx context.Context, k *APIKey) error {
	err := c.keys.PutAPIKey(ctx, k)
	c.mu.Lock()
	c.gen++
	if k != nil {
		delete(c.m, k.ID)
	}
	c.mu.Unlock()
	return err
}

// APIKey implements KeyStore (uncached).
func (c *KeyCache) APIKey(ctx context.Context, id string) (*APIKey, error) {
	return c.keys.APIKey(ctx, id)
}

// APIKeys implements KeyStore (uncached).
func (c *KeyCache) APIKeys(ctx context.Context) ([]*APIKey, error) { return c.keys.APIKeys(ctx) }

// Authenticate is the package's Authenticate with the cache: a token that
// authenticated within the TTL answers from memory (a copy of its key).
func (c *KeyCache) Authenticate(ctx context.Context, token string) (*APIKey, error) {
	id, secret, ok := splitToken(token)
	if !ok {
		return nil, Errorf(EUNAUTHORIZED, "invalid API key")
	}
	now := c.now()
	c.mu.Lock()
	e, hit := c.m[id]
	gen := c.gen
	c.mu.Unlock()
	if hit && now.Before(e.expires) && subtle.ConstantTimeCompare([]byte(secret), []byte(e.secret)) == 1 {
		k := e.key
		return &k, nil
	}
	k, err := Authenticate(ctx, c.keys, token)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen { // no PutAPIKey since the read: k is current
		if len(c.m) >= c.size {
			c.evictLocked(now)
		}
		c.m[id] = keyCacheEntry{secret: secret, key: *k, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return k, nil
}

// evictLocked drops expired entries, or when none has expired, any one.
func (c *KeyCache) evictLocked(now time.Time) {
	for id, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, id)
		}
	}
	for id := range c.m {
		if len(c.m) < c.size {
			break
		}
		delete(c.m, id)
	}
}
