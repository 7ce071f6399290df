package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"vneidgw/core"
)

// TestWriterReadsItsCommitsInFlight: the writer reads through a snapshot
// that lags its own commits (snapshot.go); batches committed after it must
// stay visible until a newer snapshot covers them. Many small accepts
// racing on a few idempotency keys, with commits overlapping: each key
// gets exactly one message, whatever batch saw it first.
func TestWriterReadsItsCommitsInFlight(t *testing.T) {
	s := openStore(t, testConfig(t))
	const keys, workers, each = 40, 8, 300
	var mu sync.Mutex
	first := map[string]string{} // idempotency key → message id
	created := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("k%02d", (w*7+i)%keys)
				m := newMessage(fmt.Sprintf("w%d-%04d", w, i), "viettel", core.KindNotice, 1)
				res, err := s.Accept(context.Background(), []core.AcceptRequest{{Message: m, IdempotencyKey: key}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if !res[0].Duplicate {
					created++
				}
				if id, ok := first[key]; ok && id != res[0].MessageID {
					t.Errorf("%s: messages %s and %s", key, id, res[0].MessageID)
				} else if !ok {
					first[key] = res[0].MessageID
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != keys {
		t.Fatalf("%d messages created for %d idempotency keys", created, keys)
	}
}
