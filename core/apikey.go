package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
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
