package store

import (
	"context"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// PutPorted implements core.PortedStore: adds or replaces entries. A large
// table is committed in chunks (an error may leave part of it written;
// repeating the call is safe).
func (s *Store) PutPorted(ctx context.Context, entries map[string]string) error {
	if len(entries) == 0 {
		return nil
	}
	keys := make([][]byte, 0, len(entries))
	vals := make([][]byte, 0, len(entries))
	for msisdn, op := range entries {
		if msisdn == "" || op == "" {
			return core.Errorf(core.EINVALID, "ported entry needs a number and an operator")
		}
		keys = append(keys, portedKey(msisdn))
		vals = append(vals, []byte(op))
	}
	// Chunks keep each group commit (and its overlay) small.
	const chunk = 4096
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		ks, vs := keys[:n], vals[:n]
		keys, vals = keys[n:], vals[n:]
		if err := s.submit(ctx, &op{items: n, apply: func(b *batch) error {
			for i := range ks {
				b.set(ks[i], vs[i])
			}
			return nil
		}}); err != nil {
			return err
		}
	}
	return nil
}

// DeletePorted implements core.PortedStore.
func (s *Store) DeletePorted(ctx context.Context, msisdns []string) error {
	if len(msisdns) == 0 {
		return nil
	}
	keys := make([][]byte, len(msisdns))
	for i, n := range msisdns {
		keys[i] = portedKey(n)
	}
	return s.submit(ctx, &op{items: len(keys), apply: func(b *batch) error {
		for _, k := range keys {
			b.del(k)
		}
		return nil
	}})
}

// Ported implements core.PortedStore.
func (s *Store) Ported(ctx context.Context) (map[string]string, error) {
	out := make(map[string]string)
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(pfxPorted)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().Key()[len(pfxPorted):])] = string(v)
		}
		return nil
	})
	if err != nil {
		return nil, core.Errorf(core.EINTERNAL, "list ported numbers: %w", err)
	}
	return out, nil
}
