package store

import (
	"context"
	"encoding/json"
	"errors"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// PutAPIKey implements core.KeyStore (create or replace by ID).
func (s *Store) PutAPIKey(ctx context.Context, k *core.APIKey) error {
	if k == nil || k.ID == "" {
		return core.Errorf(core.EINVALID, "api key without id")
	}
	v, err := json.Marshal(k)
	if err != nil {
		return core.Errorf(core.EINTERNAL, "encode api key: %w", err)
	}
	key := apiKeyKey(k.ID)
	return s.submit(ctx, &op{items: 1, apply: func(b *batch) error {
		b.set(key, v)
		return nil
	}})
}

// APIKey implements core.KeyStore.
func (s *Store) APIKey(ctx context.Context, id string) (*core.APIKey, error) {
	var k core.APIKey
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(apiKeyKey(id))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error { return json.Unmarshal(v, &k) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, core.Errorf(core.ENOTFOUND, "api key not found")
	}
	if err != nil {
		return nil, core.Errorf(core.EINTERNAL, "read api key: %w", err)
	}
	return &k, nil
}

// APIKeys implements core.KeyStore, in id order.
func (s *Store) APIKeys(ctx context.Context) ([]*core.APIKey, error) {
	var out []*core.APIKey
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(pfxAPIKey)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var k core.APIKey
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &k) }); err != nil {
				return err
			}
			out = append(out, &k)
		}
		return nil
	})
	if err != nil {
		return nil, core.Errorf(core.EINTERNAL, "list api keys: %w", err)
	}
	return out, nil
}
