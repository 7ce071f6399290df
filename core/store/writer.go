package store

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vneidgw/core"
)

// op is one write request to the group-commit writer. apply runs on the
// writer goroutine against the batch overlay; it may register effects
// (in-memory changes: queue lanes, outbox heap) that run only after the
// batch is committed. If apply fails, the op's writes and effects are
// undone and the other ops of the batch go ahead.
type op struct {
	items int
	apply func(b *batch) error
	class opClass

	err  error
	done chan struct{}

	logStart, logEnd int
	effStart, effEnd int

	// taken is when the writer started applying the op; f is its batch
	// (for the phase metrics).
	taken time.Time
	f     *inflight
}

// opClass is how the writer schedules an op.
type opClass uint8

const (
	// classBulk ops (accepts, ported numbers, keys) are taken in arrival
	// order, at most maxBulkItems of them per batch (at least one op).
	classBulk opClass = iota
	// classEvent ops (a message's events, report acks and retries) are
	// small and hold the gateway's unsettled slots until they are on disk:
	// they are taken before queued bulk work, up to MaxBatch items.
	classEvent
	// classExpress ops (an OTP's accept) are taken before anything else,
	// batched only with each other, and may start while maxInflight
	// batches are committing.
	classExpress
)

type ovEntry struct {
	val []byte
	del bool
	ttl time.Duration
}

type logEntry struct {
	key     string
	bkey    []byte // the same key, owned by the batch (never modified)
	ov      ovEntry
	prev    ovEntry
	hadPrev bool
}

// batch is the write set of one group commit: an overlay over a read
// snapshot taken when the batch started. Reads see earlier writes of the
// same batch.
type batch struct {
	s   *Store
	rtx *badger.Txn
	ov  map[string]ovEntry
	log []logEntry
	eff []func()
	now time.Time

	// prev are the batches still being committed, oldest first: their
	// writes may be missing from the snapshot, so reads consult them.
	prev []*batch

	queueSeq, reportSeq uint64
	// stamp numbers the batch (Store.batchStamp; refill_cache.go).
	stamp uint64
	// laneRoom is, per lane, the room its memory FIFO will have left
	// after this batch's offers so far (keepsInMemory).
	laneRoom map[laneKey]int
	// unknownTouched lists, per phone, u/ keys written in this batch (so
	// the phone scan can merge overlay and snapshot).
	unknownTouched map[string][]string
	wakeQueue      bool
	wakeReports    bool
	// otpOffers: an op offers an OTP to the scheduler (finishExpress).
	otpOffers bool

	bufs *batchBufs // where ov and log came from

	// The current op's message records (see loadMessage, endOp) and its
	// message cache updates.
	recs     map[string]*msgRec
	recOrder []*msgRec
	cacheUpd []cacheUpdate
}

// get returns the value of key as this batch sees it. The slice must not be
// modified.
func (b *batch) get(key []byte) ([]byte, bool, error) {
	if e, ok := b.ov[string(key)]; ok {
		if e.del {
			return nil, false, nil
		}
		return e.val, true, nil
	}
	for i := len(b.prev) - 1; i >= 0; i-- {
		if e, ok := b.prev[i].ov[string(key)]; ok {
			if e.del {
				return nil, false, nil
			}
			return e.val, true, nil
		}
	}
	it, err := b.rtx.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := it.ValueCopy(nil)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (b *batch) put(key []byte, e ovEntry) {
	k := string(key)
	b.s.refilled.stampMessage(k, b.stamp)
	prev, had := b.ov[k]
	b.ov[k] = e
	b.log = append(b.log, logEntry{key: k, bkey: key, ov: e, prev: prev, hadPrev: had})
}

func (b *batch) set(key, val []byte) { b.put(key, ovEntry{val: val}) }

func (b *batch) setTTL(key, val []byte, ttl time.Duration) { b.put(key, ovEntry{val: val, ttl: ttl}) }

func (b *batch) del(key []byte) { b.put(key, ovEntry{del: true}) }

func (b *batch) effect(f func()) { b.eff = append(b.eff, f) }

// rollback undoes the log back to n entries.
func (b *batch) rollback(n int) {
	for i := len(b.log) - 1; i >= n; i-- {
		e := b.log[i]
		if e.hadPrev {
			b.ov[e.key] = e.prev
		} else {
			delete(b.ov, e.key)
		}
	}
	b.log = b.log[:n]
}

// inflight is a batch whose transactions are being committed.
type inflight struct {
	b      *batch
	ops    []*op
	items  int
	start  time.Time
	opTxn  [][2]int // first and last transaction holding each op's writes
	txnErr []error  // per transaction, set by its callback
	left   atomic.Int32
	done   chan struct{} // closed when every transaction has answered
	// failed batches are answered by the writer itself (finishLoop), after
	// it has emptied the caches they may have polluted.
	failed bool
	// normal: a batch that may hold bulk work (not express, not events
	// only); writeLoop bounds these by maxInflight.
	normal bool
	// seq orders the batches for the readView; finished: the batch has
	// left pending (its buffers go once the readView lets go of it too).
	seq      uint64
	finished bool
	// committing: the batch went to Badger; answered: Badger answered.
	committing, answered time.Time
	// stamp is the batch's number (Store.batchStamp).
	stamp uint64
	// offerSeq > 0: the batch offers OTPs to the scheduler, the
	// offerSeq'th batch to do so (finishExpress).
	offerSeq uint64
	// early (express batches only) is closed once finishExpress has run;
	// earlyDone: it answered the batch.
	early     chan struct{}
	earlyDone bool
	// journal (express batches in the journal only) is closed once the
	// journal has the batch (or failed to write it); effectsRun: the
	// effects ran then (journal.go).
	journal    chan struct{}
	effectsRun bool
}

// maxInflight bounds the normal batches (those that may carry bulk work)
// being committed at once: while one batch waits for its fsync the writer
// prepares the next. Batches of events only and express batches do not
// count against it (they have bounds of their own below): when they did,
// the event-only batches that start whenever the gateway reports kept
// the bulk from starting, and accepts ran at half the rate the disk
// allowed (paired bench runs, medians, 6 in a fast stretch of this shared
// machine, 3 in a slow one and 5 of the whole bench: bulk accepted/s
// 13.8k → 24.8k, 10.2k → 16.3k and 10.6k → 18.0k; parts/s 26.5k → 26.8k,
// 17.5k → 18.9k and 18.0k → 18.8k; bytes written per approval 12–16%
// fewer; the cost, OTP p99 20 → 27, 24 → 22 and 24 → 31 ms: the writer
// applies more bulk work for an OTP to wait behind). Three or four normal
// batches instead of two changed nothing (3 paired runs each: the machine
// stayed 80–81% busy; its idle time is the pipeline waiting for Badger's
// per-round msync, see the pipeline issue's notes). Earlier, when all
// batches counted, two beat three once the writer stopped waiting for
// write transactions (5 paired bench runs, medians: bulk
// 15.6k → 16.9k parts/s, CPU per 1,000 approvals 170 → 157 ms, OTP p99
// 69 → 59 ms): fewer, larger commits, and an OTP's commit queues in
// Badger behind fewer of them.
const maxInflight = 2

// maxExpressInflight is how many batches beyond maxInflight may be in
// flight for express ops: an OTP's batch that waited for the oldest batch
// to commit (one more was allowed) took up to 60 ms to reach the journal
// under bulk load.
const maxExpressInflight = 4

// maxEventInflight is how many batches of events only may be in flight
// beyond maxInflight.
const maxEventInflight = 2

// maxExpressItems bounds an express op, and the items of an express batch:
// it is applied while bulk work waits.
const maxExpressItems = 16

// smallBatch: a normal batch of fewer items does not overlap the next
// (writeLoop's group-commit rule). A full bulk batch (maxBulkItems) still
// overlaps. At 256 instead of 64, one request per notice (64 concurrent)
// made 22% fewer commits and went 7.6k -> 8.6k notices/s (medians of 6
// paired singles-only runs); the bulk bench was no worse (7 paired runs:
// 15.3k -> 16.7k parts/s); its OTP p99 went from a median of 27 to 29 ms
// (one run in 24 reached 68 ms, in a slow stretch of this shared machine).
const smallBatch = maxBulkItems

// maxEventItems bounds the event items a batch drains (more may come with
// the op that starts it): the writer applies a batch whole, and an OTP's
// accept waits for the batch being applied.
const maxEventItems = 512

// maxBulkItems bounds the bulk items (accepts) of one batch: a batch's
// apply and commit time grows with its items, and the events queued behind
// it (which free the gateway's unsettled slots) wait for all of it.
const maxBulkItems = 256

// writeLoop is the single writer: it takes a request, drains whatever else
// is queued (events first, then bulk work up to maxBulkItems, MaxBatch
// items in all), applies them into one batch and starts its commit;
// completions are handled in order (effects, then answers). Express ops are
// taken first, into batches of their own: an OTP's accept waits for at most
// the batch being applied, not for the bulk queued behind it.
func (s *Store) writeLoop() {
	defer s.wg.Done()
	var pending []*inflight
	stopping := false
	defer close(s.finishCh)
	if s.jnl != nil {
		defer close(s.jnl.jobs)
	}
	view := newReadView(s)
	defer view.close()
	lastItems := 0 // items of the last normal (non-express) batch
	// leftover are ops a batch took but did not apply, to let an express
	// op in (startBatch): the next normal batch starts with them.
	var leftover []*op
	// normalPending counts the normal batches in pending (a few at most).
	normalPending := func() int {
		n := 0
		for _, f := range pending {
			if f.normal {
				n++
			}
		}
		return n
	}
	start := func(ops []*op, items int, normal bool) {
		if len(view.chain) >= maxChain {
			view.arrived(<-view.fresh)
		}
		view.refreshIfIdle()
		f, rest := s.startBatch(ops, items, view.overlays(), view.txn)
		leftover = append(leftover, rest...)
		f.normal = normal
		pending = append(pending, f)
		view.started(f)
		s.finishCh <- f // buffered for every batch pending: never blocks
	}
	// drain adds what else is queued on ch to ops, up to limit items.
	drain := func(ch chan *op, ops []*op, items, limit int) ([]*op, int) {
		for items < limit {
			select {
			case o := <-ch:
				ops = append(ops, o)
				items += o.items
			default:
				return ops, items
			}
		}
		return ops, items
	}
	// carry is a bulk op taken that did not fit its batch: the next batch
	// starts with it (bulk ops keep their order).
	var carry *op
	// gather builds a normal batch from first (if any), the queued events
	// and then bulk work.
	gather := func(first *op, withBulk bool) ([]*op, int) {
		var ops []*op
		items, bulk := 0, 0
		add := func(o *op) {
			ops = append(ops, o)
			items += o.items
			if o.class == classBulk {
				bulk += o.items
			}
		}
		for _, o := range leftover {
			add(o)
		}
		clear(leftover)
		leftover = leftover[:0]
		if carry != nil {
			add(carry)
			carry = nil
		}
		if first != nil {
			add(first)
		}
		ops, items = drain(s.eventCh, ops, items, min(s.cfg.MaxBatch, maxEventItems))
	bulkOps:
		for withBulk && items < s.cfg.MaxBatch && bulk < maxBulkItems {
			select {
			case o := <-s.writeCh:
				if bulk > 0 && bulk+o.items > maxBulkItems {
					carry = o
					break bulkOps
				}
				add(o)
			default:
				break bulkOps
			}
		}
		return ops, items
	}
	for {
		if stopping && len(pending) == 0 && carry == nil && len(leftover) == 0 {
			return
		}
		in, events, express := s.writeCh, s.eventCh, s.expressCh
		if carry != nil || len(leftover) > 0 {
			in, events = nil, nil // they go first, in order
		}
		// Group commit: after a small batch, the next waits until nothing
		// is in flight, gathering what arrives meanwhile (one-request-
		// per-message load made 40% more, smaller commits otherwise, and
		// spent 20% more CPU per message); large batches overlap up to
		// maxInflight normal ones, maxInflight+maxEventInflight in all.
		eventsOnly := false
		if normalPending() >= maxInflight || len(pending) >= maxInflight+maxEventInflight || len(pending) > 0 && lastItems < smallBatch {
			in = nil
			// Events free the gateway's unsettled slots once on disk:
			// beyond maxInflight, a batch of events only may still start.
			if lastItems < smallBatch || len(pending) >= maxInflight+maxEventInflight {
				events = nil
			} else {
				eventsOnly = events != nil // nil: carried ops go first
			}
		}
		if stopping {
			in, events, express = nil, nil, nil
		}
		if len(pending) >= maxInflight+maxExpressInflight {
			express = nil
		}
		// Express first, when it can start.
		if express != nil {
			select {
			case first := <-express:
				ops, items := drain(express, []*op{first}, first.items, maxExpressItems)
				start(ops, items, false)
				continue
			default:
			}
		}
		// Then leftover and carried ops, when a batch can start; then
		// events.
		if (carry != nil || len(leftover) > 0) && normalPending() < maxInflight && len(pending) < maxInflight+maxEventInflight {
			ops, items := gather(nil, true)
			lastItems = items
			start(ops, items, true)
			continue
		}
		if events != nil {
			select {
			case first := <-events:
				ops, items := gather(first, !eventsOnly)
				if !eventsOnly {
					lastItems = items
				}
				start(ops, items, !eventsOnly)
				continue
			default:
			}
		}
		select {
		case first := <-express:
			ops, items := drain(express, []*op{first}, first.items, maxExpressItems)
			start(ops, items, false)
		case first := <-events:
			ops, items := gather(first, !eventsOnly)
			if !eventsOnly {
				lastItems = items
			}
			start(ops, items, !eventsOnly)
		case first := <-in:
			ops, items := gather(first, true)
			lastItems = items
			start(ops, items, true)
		case f := <-s.finished:
			// f is pending[0]: the finisher takes batches in order.
			if f.failed {
				s.failBatch(f)
			}
			pending[0] = nil
			pending = pending[1:]
			view.finished(f)
		case fs := <-view.fresh:
			view.arrived(fs)
		case <-s.stop:
			stopping = true
		}
	}
}

// startBatch applies ops into a new batch and starts committing it. A
// normal batch stops between two ops when an express op is waiting (an
// OTP's accept waited up to 30 ms for the apply of a whole bulk batch
// under load): it returns the ops it did not apply, for the next batch.
func (s *Store) startBatch(ops []*op, items int, prev []*batch, rtx *badger.Txn) (*inflight, []*op) {
	s.batchStamp++
	f := &inflight{ops: ops, items: items, start: time.Now(), done: make(chan struct{}), stamp: s.batchStamp}
	if s.mcache.enabled() {
		s.refilled.drainInto(&s.mcache)
	}
	bufs := s.takeBatchBufs(items * 4)
	b := &batch{
		s:         s,
		rtx:       rtx,
		prev:      prev,
		bufs:      bufs,
		ov:        bufs.ov,
		log:       bufs.log,
		now:       s.now(),
		queueSeq:  s.queueSeq,
		reportSeq: s.reportSeq,
		stamp:     f.stamp,
	}
	f.b = b
	var rest []*op
	for i, o := range ops {
		if i > 0 && o.class != classExpress && s.expressWaiting.Load() > 0 {
			rest, ops = ops[i:], ops[:i]
			for _, r := range rest {
				items -= r.items
			}
			f.ops, f.items = ops, items
			break
		}
		o.taken, o.f = time.Now(), f
		o.logStart, o.effStart = len(b.log), len(b.eff)
		qs, rs := b.queueSeq, b.reportSeq
		wq, wr := b.wakeQueue, b.wakeReports
		err := o.apply(b)
		b.endOp(err == nil)
		if err != nil {
			o.err = err
			b.rollback(o.logStart)
			b.eff = b.eff[:o.effStart]
			b.queueSeq, b.reportSeq = qs, rs
			b.wakeQueue, b.wakeReports = wq, wr
		}
		o.logEnd, o.effEnd = len(b.log), len(b.eff)
	}
	b.rtx, b.prev = nil, nil
	counters := len(b.log)
	if b.queueSeq != s.queueSeq {
		b.set([]byte(keyQueueSeq), binary.BigEndian.AppendUint64(nil, b.queueSeq))
	}
	if b.reportSeq != s.reportSeq {
		b.set([]byte(keyReportSeq), binary.BigEndian.AppendUint64(nil, b.reportSeq))
	}
	// Numbers handed out stay used even if the commit fails.
	s.queueSeq, s.reportSeq = b.queueSeq, b.reportSeq
	if b.otpOffers {
		s.otpOfferSeq++
		f.offerSeq = s.otpOfferSeq
	}
	if ops[0].class == classExpress {
		f.early = make(chan struct{})
		s.journalBatch(f)
	}
	f.committing = time.Now()
	if s.holdCommit != nil {
		if release := s.holdCommit(f); release != nil {
			go func() {
				<-release
				s.commit(f, counters)
			}()
			return f, rest
		}
	}
	s.commit(f, counters)
	return f, rest
}

// finishLoop answers committed batches in order, on its own goroutine: the
// writer may be applying a large batch meanwhile, and an OTP's accept must
// not wait for that. A failed batch goes back to the writer unanswered.
func (s *Store) finishLoop() {
	defer s.wg.Done()
	for f := range s.finishCh {
		<-f.done
		s.visibleStamp.Store(f.stamp)
		if f.early != nil {
			<-f.early
			if f.earlyDone {
				s.finished <- f
				continue
			}
		}
		for _, e := range f.txnErr {
			if e != nil {
				f.failed = true
				break
			}
		}
		if !f.failed {
			s.finishBatch(f)
		}
		s.finished <- f
	}
}

// finishExpress answers an express batch as soon as its own commit has
// answered, on the commit's callback goroutine, instead of after every
// batch before it has been answered: finishing those (their effects and
// answers, hundreds of accepts and events) kept an OTP's accept up to
// 15 ms longer (p99 of the finish phase under bulk load).
//
// It is safe because Badger commits in order (one write group at a time,
// each synced before the next): when this batch's commit answers, the
// batches before it are on disk too. Of the effects, only the scheduler's
// offers must keep their order (a lane takes a sequence number at or below
// its cursor as already loaded), and only within an (operator, priority)
// lane, so a batch offering OTPs is answered early only when every batch
// offering OTPs before it is done; otherwise, or if its commit failed, the
// finisher answers it in order as usual.
func (s *Store) finishExpress(f *inflight) {
	defer close(f.early)
	for _, e := range f.txnErr {
		if e != nil {
			return
		}
	}
	if f.offerSeq > 0 && s.otpOffersDone.Load() != f.offerSeq-1 {
		return
	}
	f.earlyDone = true
	s.finishBatch(f)
}

// failBatch answers a batch with a failed transaction, on the writer
// goroutine: first the caches go (they may hold records that did not reach
// the disk), then the ops of the transactions that committed run their
// effects as usual, and every op is answered.
func (s *Store) failBatch(f *inflight) {
	var firstErr error
	for _, e := range f.txnErr {
		if e != nil {
			firstErr = e
			break
		}
	}
	s.metrics.commitErrors.Inc()
	s.log.Error().Err(firstErr).Int("ops", len(f.ops)).Msg("store: commit failed")
	s.mcache.reset()
	s.ccache.reset()
	s.refilled.drop()
	s.finishBatch(f)
}

// finishBatch runs after every transaction of f answered: effects of the
// committed ops in order, wake-ups, then every waiter. It runs on the
// finisher goroutine (or the writer's, for a failed batch): effects only
// touch state with its own lock.
func (s *Store) finishBatch(f *inflight) {
	if f.journal != nil {
		<-f.journal // its effects may run there
	}
	s.metrics.batchItems.Observe(float64(f.items))
	s.metrics.commitSeconds.Observe(time.Since(f.start).Seconds())
	b := f.b
	for i, o := range f.ops {
		if o.err != nil {
			continue
		}
		var err error
		for t := f.opTxn[i][0]; t <= f.opTxn[i][1] && err == nil; t++ {
			err = f.txnErr[t]
		}
		if err != nil {
			if errors.Is(err, badger.ErrDBClosed) {
				o.err = errClosed()
			} else {
				o.err = core.Errorf(core.EUNAVAILABLE, "store commit: %w", err)
			}
			continue
		}
		if !f.effectsRun {
			b.runEffects(o)
		}
	}
	if !f.effectsRun {
		s.effectsDone(f)
	}
	for _, o := range f.ops {
		close(o.done)
	}
}

// runEffects runs the effects o registered.
func (b *batch) runEffects(o *op) {
	for _, fn := range b.eff[o.effStart:o.effEnd] {
		fn()
	}
}

// effectsDone runs once f's effects have: its OTP offers count as done,
// and the scheduler and the outbox look at what f added.
func (s *Store) effectsDone(f *inflight) {
	if f.offerSeq > 0 {
		s.otpOffersDone.Add(1)
	}
	if f.b.wakeQueue {
		s.sched.wake()
	}
	if f.b.wakeReports {
		s.outbox.wake()
	}
}

// recycleBatch keeps f's buffers for later batches, on the writer
// goroutine once f has left pending: nothing reads its overlay any more
// (later batches consulted it only while they were applied, and Badger has
// its keys and values).
func (s *Store) recycleBatch(f *inflight) {
	b := f.b
	b.bufs.log = b.log
	s.putBatchBufs(b.bufs)
	b.ov, b.log, b.bufs = nil, nil, nil
}

// batchBufs are a batch's overlay map and log, reused by later batches
// (the writer's main allocation per commit otherwise).
type batchBufs struct {
	ov   map[string]ovEntry
	log  []logEntry
	hint int // the map's size hint
}

// Reuse is bounded (the Go heap runs close to its soft limit under load):
// at most maxFreeBufs buffers made for at most maxReusedBufs writes are
// kept; a large batch's buffers go to the GC as before.
const (
	maxFreeBufs   = 2
	maxReusedBufs = 2048
)

// takeBatchBufs returns buffers for about n writes: reused ones whose map
// was made for between n and 8n entries (clearing a much larger map costs
// more than making a small one), else new ones.
func (s *Store) takeBatchBufs(n int) *batchBufs {
	n = max(n, 16)
	for i, fb := range s.freeBufs {
		if fb.hint >= n && fb.hint <= 8*n {
			last := len(s.freeBufs) - 1
			s.freeBufs[i] = s.freeBufs[last]
			s.freeBufs[last] = nil
			s.freeBufs = s.freeBufs[:last]
			return fb
		}
	}
	return &batchBufs{ov: make(map[string]ovEntry, n), log: make([]logEntry, 0, n), hint: n}
}

// putBatchBufs clears fb and keeps it for reuse (dropping the smallest
// when the list is full).
func (s *Store) putBatchBufs(fb *batchBufs) {
	if fb == nil || fb.hint > maxReusedBufs {
		return
	}
	clear(fb.ov)
	clear(fb.log)
	fb.log = fb.log[:0]
	if len(s.freeBufs) < maxFreeBufs {
		s.freeBufs = append(s.freeBufs, fb)
		return
	}
	small := 0
	for i, x := range s.freeBufs {
		if x.hint < s.freeBufs[small].hint {
			small = i
		}
	}
	if s.freeBufs[small].hint < fb.hint {
		s.freeBufs[small] = fb
	}
}

// commit writes the batch log in as few transactions as fit Badger's batch
// limits, splitting only between ops (an op larger than a transaction is
// split inside, losing its atomicity), and commits them asynchronously.
func (s *Store) commit(f *inflight, counters int) {
	b := f.b
	f.opTxn = make([][2]int, len(f.ops))
	maxSize := s.db.MaxBatchSize() * 9 / 10
	maxCount := s.db.MaxBatchCount() * 9 / 10
	var txns []*badger.Txn
	txn := s.writeTxn()
	var size, count int64
	var setErr error
	next := func() {
		txns = append(txns, txn)
		txn = s.writeTxn()
		size, count = 0, 0
	}
	entrySize := func(e *logEntry) int64 { return int64(len(e.key)+len(e.ov.val)) + 12 }
	write := func(e *logEntry) {
		if setErr != nil {
			return
		}
		for try := 0; try < 2; try++ {
			var err error
			if e.ov.del {
				err = txn.Delete(e.bkey)
			} else {
				be := badger.NewEntry(e.bkey, e.ov.val)
				if e.ov.ttl > 0 {
					be = be.WithTTL(e.ov.ttl)
				}
				err = txn.SetEntry(be)
			}
			if errors.Is(err, badger.ErrTxnTooBig) && count > 0 {
				next()
				continue
			}
			if err != nil {
				setErr = err
				return
			}
			size += entrySize(e)
			count++
			return
		}
	}
	for i, o := range f.ops {
		f.opTxn[i][0] = len(txns)
		if o.logEnd > o.logStart {
			var sz int64
			for j := o.logStart; j < o.logEnd; j++ {
				sz += entrySize(&b.log[j])
			}
			n := int64(o.logEnd - o.logStart)
			if count > 0 && (size+sz > maxSize || count+n > maxCount) {
				next()
			}
			for j := o.logStart; j < o.logEnd; j++ {
				write(&b.log[j])
			}
		}
		f.opTxn[i][1] = len(txns)
	}
	for j := counters; j < len(b.log); j++ {
		write(&b.log[j])
	}
	txns = append(txns, txn)
	f.txnErr = make([]error, len(txns))
	f.left.Store(int32(len(txns)))
	for i, t := range txns {
		if setErr != nil {
			t.Discard()
			f.txnErr[i] = setErr
			if f.left.Add(-1) == 0 {
				s.committed(f)
			}
			continue
		}
		t.CommitWith(func(err error) {
			f.txnErr[i] = err
			if f.left.Add(-1) == 0 {
				f.answered = time.Now()
				s.committed(f)
			}
		})
	}
}

// committed runs once every transaction of f has answered.
func (s *Store) committed(f *inflight) {
	if f.journal != nil {
		s.jnl.outstanding.Add(-1)
	}
	close(f.done)
	if f.early != nil {
		s.finishExpress(f)
	}
}
