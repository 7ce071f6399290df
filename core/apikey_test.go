package core_test

import (
	"context"
	"strings"
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
