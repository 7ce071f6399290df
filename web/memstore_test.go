package web

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"vneidgw/core"
)

// memStore is an in-memory core.MessageStore, KeyStore, PortedStore and
// ReportOutbox for tests that exercise failure paths the real store does
// not produce on demand (store errors mid-upload, webhook outboxes).
type memStore struct {
	mu       sync.Mutex
	msgs     map[string]*core.Message
	order    []string // accept order
	apps     map[string]*core.Application
	idem     map[string]string
	keys     map[string]*core.APIKey
	ported   map[string]string
	accepts  int
	failFrom int // 0 = never; n = the nth Accept call and later fail

	// outbox
	reports []*core.Report
	due     map[uint64]time.Time
	acked   map[uint64]int // seq → times acked
	retried map[uint64]int
	seq     uint64
	wake    chan struct{}
}

func newMemStore() *memStore {
	return &memStore{
		msgs: map[string]*core.Message{}, apps: map[string]*core.Application{}, idem: map[string]string{},
		keys: map[string]*core.APIKey{}, ported: map[string]string{},
		due: map[uint64]time.Time{}, acked: map[uint64]int{}, retried: map[uint64]int{},
		wake: make(chan struct{}, 1),
	}
}

func (m *memStore) Accept(ctx context.Context, reqs []core.AcceptRequest) ([]core.AcceptResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.accepts++
	if m.failFrom > 0 && m.accepts >= m.failFrom {
		return nil, context.DeadlineExceeded // an unexpected store failure
	}
	out := make([]core.AcceptResult, len(reqs))
	for i, r := range reqs {
		if a := r.Application; a != nil {
			if prev, ok := m.apps[a.ApplicationID]; ok {
				out[i] = core.AcceptResult{MessageID: prev.MessageID, Duplicate: true}
				continue
			}
			cp := *a
			m.apps[a.ApplicationID] = &cp
		}
		if r.IdempotencyKey != "" {
			k := r.Message.ClientID + "\x00" + r.IdempotencyKey
			if prev, ok := m.idem[k]; ok {
				out[i] = core.AcceptResult{MessageID: prev, Duplicate: true}
				continue
			}
			m.idem[k] = r.Message.ID
		}
		cp := *r.Message
		m.msgs[cp.ID] = &cp
		m.order = append(m.order, cp.ID)
		out[i] = core.AcceptResult{MessageID: cp.ID}
	}
	return out, nil
}

func (m *memStore) Message(ctx context.Context, id string) (*core.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	msg, ok := m.msgs[id]
	if !ok {
		return nil, core.Errorf(core.ENOTFOUND, "message not found")
	}
	cp := *msg
	return &cp, nil
}

func (m *memStore) MessagesByPhone(ctx context.Context, phone, cursor string, limit int) ([]*core.Message, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []*core.Message
	for i := len(m.order) - 1; i >= 0; i-- {
		if msg := m.msgs[m.order[i]]; msg.To == phone {
			all = append(all, msg)
		}
	}
	start := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 || n > len(all) {
			return nil, "", core.Errorf(core.EINVALID, "cursor: invalid")
		}
		start = n
	}
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[start:end], next, nil
}

func (m *memStore) Application(ctx context.Context, id string) (*core.Application, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.apps[id]
	if !ok {
		return nil, core.Errorf(core.ENOTFOUND, "application not found")
	}
	return a, nil
}

func (m *memStore) queued() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs)
}

func (m *memStore) PutAPIKey(ctx context.Context, k *core.APIKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = k
	return nil
}

func (m *memStore) APIKey(ctx context.Context, id string) (*core.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return nil, core.Errorf(core.ENOTFOUND, "no such key")
	}
	return k, nil
}

func (m *memStore) APIKeys(ctx context.Context) ([]*core.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*core.APIKey
	for _, k := range m.keys {
		out = append(out, k)
	}
	return out, nil
}

func (m *memStore) PutPorted(ctx context.Context, entries map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range entries {
		m.ported[k] = v
	}
	return nil
}

func (m *memStore) DeletePorted(ctx context.Context, msisdns []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range msisdns {
		delete(m.ported, k)
	}
	return nil
}

func (m *memStore) Ported(ctx context.Context) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.ported))
	for k, v := range m.ported {
		out[k] = v
	}
	return out, nil
}

// addReport puts a report in the outbox, due now.
func (m *memStore) addReport(r core.Report) uint64 {
	m.mu.Lock()
	m.seq++
	r.Seq = m.seq
	m.reports = append(m.reports, &r)
	m.due[r.Seq] = time.Time{}
	m.mu.Unlock()
	m.poke()
	return r.Seq
}

func (m *memStore) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *memStore) PendingReports(ctx context.Context, max int) ([]core.Report, error) {
	for {
		m.mu.Lock()
		now := time.Now()
		var out []core.Report
		next := time.Duration(-1)
		sort.Slice(m.reports, func(i, j int) bool { return m.reports[i].Seq < m.reports[j].Seq })
		for _, r := range m.reports {
			due := m.due[r.Seq]
			if !due.After(now) {
				if len(out) < max {
					out = append(out, *r)
				}
			} else if d := due.Sub(now); next < 0 || d < next {
				next = d
			}
		}
		m.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		if next < 0 {
			next = time.Hour
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-m.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (m *memStore) AckReports(ctx context.Context, seqs []uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	drop := map[uint64]bool{}
	for _, s := range seqs {
		m.acked[s]++
		drop[s] = true
	}
	kept := m.reports[:0]
	for _, r := range m.reports {
		if !drop[r.Seq] {
			kept = append(kept, r)
		}
	}
	m.reports = kept
	return nil
}

func (m *memStore) RetryReports(ctx context.Context, reports []core.Report, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, rp := range reports {
		m.retried[rp.Seq]++
		m.due[rp.Seq] = at
		for _, r := range m.reports {
			if r.Seq == rp.Seq {
				r.Attempts++
			}
		}
	}
	return nil
}

func (m *memStore) outboxLen() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.reports)
}
