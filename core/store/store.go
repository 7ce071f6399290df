package store

import (
	"sync/atomic"

	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

var (
	_ core.MessageStore = (*Store)(nil)
	_ core.Queue        = (*Store)(nil)
	_ core.ReportOutbox = (*Store)(nil)
	_ core.KeyStore     = (*Store)(nil)
	_ core.PortedStore  = (*Store)(nil)
)

// Store is the Badger-backed implementation of core's storage interfaces.
// It is safe for concurrent use. Close stops its goroutines and closes the
// database.
type Store struct {
	cfg     Config
	log     zerolog.Logger
	db      *badger.DB
	metrics *metrics

	writeCh chan *op // bulk ops; unbuffered: a blocked sender is a queued request
	// eventCh takes events and report acks, served before bulk work.
	eventCh chan *op
	// expressCh takes the ops that must not queue behind bulk work (an
	// OTP's accept): the writer serves it first (writer.go).
	expressCh chan *op
	// finishCh hands started batches, in order, to the finisher; finished
	// hands them back once answered (writer.go).
	finishCh chan *inflight
	finished chan *inflight
	// writeTxns is the stock of write transactions the writer commits with
	// (snapshot.go); fillerDone closes when its filler has stopped.
	writeTxns  chan *badger.Txn
	fillerDone chan struct{}
	stop       chan struct{} // closed by Close
	// otpOffersDone counts the batches offering OTPs whose effects have
	// run (finishExpress).
	otpOffersDone atomic.Uint64
	wg            sync.WaitGroup
	once          sync.Once

	// Owned by the writer goroutine (and by Open before it starts).
	queueSeq  uint64
	reportSeq uint64
	// otpOfferSeq counts the batches that offer OTPs (finishExpress).
	otpOfferSeq uint64
	// pending indexes the d/ keys on disk (record.go): a submit looks
	// pending receipts up only when one may match.
	pending pendingIndex
	// unknownParts over-approximates the u/ keys (parts whose submit was
	// never answered). While it is 0, a receipt that matches no correlation
	// skips the search for an unknown part of its phone (the common case:
	// a DLR that overtook its own submit_sm_resp).
	unknownParts atomic.Int64
	// mcache holds encoded records of messages not yet final, ccache
	// correlation values (record.go).
	mcache kvCache
	ccache kvCache
	// refilled hands the records the refiller reads to mcache, and
	// stamps the writer's message writes (refill_cache.go).
	refilled refillCache
	// batchStamp numbers the writer's batches (writer-owned);
	// visibleStamp is the last one answered by Badger with every one
	// before it (set by the finisher, in order).
	batchStamp   uint64
	visibleStamp atomic.Uint64

	// freeBufs are cleared batch buffers for reuse (writer.go).
	freeBufs []*batchBufs

	sched  scheduler
	outbox outbox

	trimDir string // absolute cfg.Dir, for the trimmer

	// kf tells the keys looked up before they are written (applications,
	// idempotency keys, accounts, phones) that certainly do not exist
	// (keyfilter.go); shared with AccountStores from AccountStore().
	kf *keyFilter
	// claims serialises account creations per key (account_claims.go).
	claims *keyClaims

	// jnl is the express journal (journal.go); nil without fsync.
	jnl *journal
	// expressWaiting counts the express ops being handed to the writer.
	expressWaiting atomic.Int32

	// scanHook, set by tests before the first Next, runs inside every
	// refill scan once its snapshot is taken.
	scanHook func()
	// holdCommit, set by tests before the first write, may hold a batch's
	// commit until the channel it returns is closed.
	holdCommit func(f *inflight) <-chan struct{}
}

// Open opens (or creates) the database, rebuilds the queue lanes and the
// report outbox from disk and starts the writer and value-log GC.
func Open(cfg Config, log zerolog.Logger, reg prometheus.Registerer) (*Store, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, core.Errorf(core.EINVALID, "%w", err)
	}
	kf := newKeyFilter(cfg.KeyFilterBytes, log)
	m, err := newMetrics(reg, kf)
	if err != nil {
		return nil, err
	}
	db, err := badger.Open(cfg.badgerOptions(log))
	if err != nil {
		return nil, core.Errorf(core.EUNAVAILABLE, "open database: %w", err)
	}
	s := &Store{
		cfg:        cfg,
		log:        log,
		db:         db,
		metrics:    m,
		writeCh:    make(chan *op),
		expressCh:  make(chan *op),
		eventCh:    make(chan *op),
		finishCh:   make(chan *inflight, maxInflight+maxExpressInflight+1),
		finished:   make(chan *inflight, maxInflight+maxExpressInflight+1),
		stop:       make(chan struct{}),
		writeTxns:  make(chan *badger.Txn, writeTxnStock),
		fillerDone: make(chan struct{}),
	}
	s.kf = kf
	s.claims = newKeyClaims()
	s.sched.init(s)
	s.pending.init(cfg.Now)
	s.mcache.init(cfg.MessageCache*4, cfg.MessageCache*4, cfg.MessageCache)
	s.ccache.init(0, 0, cfg.MessageCache*2)
	s.refilled.init()
	s.outbox.init()
	if !cfg.InMemory {
		jnl, err := s.openJournal(cfg.SyncWrites)
		if err != nil {
			_ = db.Close()
			return nil, core.Errorf(core.EUNAVAILABLE, "%w", err)
		}
		s.jnl = jnl
	}
	if err := s.load(); err != nil {
		if s.jnl != nil {
			_ = s.jnl.f.Close()
		}
		_ = db.Close()
		return nil, err
	}
	if s.jnl != nil {
		s.wg.Add(1)
		go s.journalLoop()
	}
	s.wg.Add(5)
	go s.scanKeyFilter()
	go s.fillWriteTxns()
	go s.writeLoop()
	go s.finishLoop()
	go s.refillLoop()
	if !cfg.InMemory && cfg.GCInterval > 0 {
		s.wg.Add(1)
		go s.every(s.cfg.GCInterval, s.gcOnce)
	}
	if dir, err := filepath.Abs(cfg.Dir); err == nil && !cfg.InMemory && cfg.TrimInterval > 0 && trimSupported {
		s.trimDir = dir // as /proc/self/maps names the files
		s.wg.Add(1)
		go s.every(s.cfg.TrimInterval, func() { s.trimOnce() })
	}
	return s, nil
}

// load reads the counters, counts the queued messages per lane and rebuilds
// the report heap.
func (s *Store) load() error {
	err := s.db.View(func(txn *badger.Txn) error {
		for _, c := range []struct {
			key string
			dst *uint64
		}{{keyQueueSeq, &s.queueSeq}, {keyReportSeq, &s.reportSeq}} {
			it, err := txn.Get([]byte(c.key))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := it.Value(func(v []byte) error {
				if len(v) != 8 {
					return errCorrupt
				}
				*c.dst = binary.BigEndian.Uint64(v)
				return nil
			}); err != nil {
				return err
			}
		}

		// Queue lanes: count keys only; every lane starts spilled with its
		// cursor at 0, so Next reads it back from disk in order.
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(pfxQueue)
		it := txn.NewIterator(opts)
		for it.Rewind(); it.Valid(); it.Next() {
			op, prio, seq, ok := parseQueueKey(it.Item().Key())
			if !ok {
				s.log.Warn().Bytes("key", it.Item().KeyCopy(nil)).Msg("store: malformed queue key skipped")
				continue
			}
			l := s.sched.lane(op, prio)
			l.count++
			l.spilled = true
			s.queueSeq = max(s.queueSeq, seq)
		}
		it.Close()

		opts.Prefix = []byte(pfxPendingDLR)
		it = txn.NewIterator(opts)
		for it.Rewind(); it.Valid(); it.Next() {
			op, canon, ok := strings.Cut(string(it.Item().Key()[len(pfxPendingDLR):]), "/")
			if !ok || strings.Contains(canon, "/") {
				op, canon = "/", "" // indexed under the wildcard
			}
			until := s.now().Add(s.cfg.PendingDLRTTL)
			if exp := it.Item().ExpiresAt(); exp > 0 {
				until = time.Unix(int64(exp), 0)
			}
			s.pending.add(op, canon, until)
		}
		it.Close()

		opts.Prefix = []byte(pfxUnknown)
		it = txn.NewIterator(opts)
		for it.Rewind(); it.Valid(); it.Next() {
			s.unknownParts.Add(1)
		}
		it.Close()

		opts.PrefetchValues = true
		opts.Prefix = []byte(pfxReport)
		it = txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(pfxReport)+8 {
				continue
			}
			seq := binary.BigEndian.Uint64(k[len(pfxReport):])
			var due time.Time
			if err := it.Item().Value(func(v []byte) error {
				var err error
				_, due, err = decodeReport(v)
				return err
			}); err != nil {
				return fmt.Errorf("report %d: %w", seq, err)
			}
			s.outbox.push(due, seq)
			s.outbox.count++
			s.reportSeq = max(s.reportSeq, seq)
		}
		return nil
	})
	if err != nil {
		return core.Errorf(core.EINTERNAL, "load store state: %w", err)
	}
	s.sched.mu.Lock()
	for _, l := range s.sched.lanes {
		l.gauge.Set(float64(l.count))
	}
	s.sched.mu.Unlock()
	s.metrics.reports.Set(float64(s.outbox.count))
	return nil
}

// DB returns the underlying database, for other store files that share it.
// Their key prefixes must be registered in keys.go.
func (s *Store) DB() *badger.DB { return s.db }

// Ping reports whether the store can serve requests (readiness).
func (s *Store) Ping() error {
	select {
	case <-s.stop:
		return errClosed()
	default:
	}
	if s.db.IsClosed() {
		return errClosed()
	}
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(keyQueueSeq))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return core.Errorf(core.EUNAVAILABLE, "store not ready: %w", err)
	}
	return nil
}

// Close stops the writer (requests already taken are committed; new ones
// get EUNAVAILABLE), stops the GC, wakes blocked Next/PendingReports
// callers and closes the database.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		if cerr := s.db.Close(); cerr != nil {
			err = core.Errorf(core.EINTERNAL, "close database: %w", cerr)
		}
	})
	return err
}

func errClosed() error { return core.Errorf(core.EUNAVAILABLE, "store is closed") }

func (s *Store) now() time.Time { return s.cfg.Now() }

// every runs fn every d until the store stops (a background goroutine
// counted in s.wg).
func (s *Store) every(d time.Duration, fn func()) {
	defer s.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

// gcOnce runs value-log GC on at most 16 files, stopping early when there
// is nothing to rewrite or the store stops.
func (s *Store) gcOnce() {
	for n := 0; n < 16; n++ {
		err := s.db.RunValueLogGC(0.5)
		if err != nil {
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.log.Warn().Err(err).Msg("store: value log GC")
			}
			return
		}
		select {
		case <-s.stop:
			return
		default:
		}
	}
}

// submit hands o to the writer and waits until it is committed (or failed).
// Once taken, an operation completes even if ctx ends meanwhile.
func (s *Store) submit(ctx context.Context, o *op) error {
	t0 := time.Now()
	if err := s.enqueue(ctx, o); err != nil {
		return err
	}
	return s.wait(o, t0)
}

// enqueue hands o to the writer: it returns once the writer has taken it
// (ops of one class are taken in the order they were enqueued).
func (s *Store) enqueue(ctx context.Context, o *op) error {
	o.done = make(chan struct{})
	ch := s.writeCh
	switch o.class {
	case classExpress:
		ch = s.expressCh
	case classEvent:
		ch = s.eventCh
	}
	if o.class == classExpress {
		// A normal batch being applied lets it in (startBatch).
		s.expressWaiting.Add(1)
		defer s.expressWaiting.Add(-1)
	}
	select {
	case ch <- o:
		return nil
	case <-s.stop:
		return errClosed()
	case <-ctx.Done():
		return core.Errorf(core.EUNAVAILABLE, "store write: %w", ctx.Err())
	}
}

// wait blocks until the enqueued o is committed (or failed); t0 is when it
// was requested.
func (s *Store) wait(o *op, t0 time.Time) error {
	<-o.done
	now := time.Now()
	s.metrics.writeSeconds[o.class].Observe(now.Sub(t0).Seconds())
	if f := o.f; f != nil && !f.answered.IsZero() {
		ph := &s.metrics.writePhase[o.class]
		ph[phaseQueue].Observe(o.taken.Sub(t0).Seconds())
		ph[phaseApply].Observe(f.committing.Sub(o.taken).Seconds())
		ph[phaseCommit].Observe(f.answered.Sub(f.committing).Seconds())
		ph[phaseFinish].Observe(now.Sub(f.answered).Seconds())
	}
	return o.err
}
