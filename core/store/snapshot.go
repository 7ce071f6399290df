package store

import (
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Badger gives every new transaction, read-only or not, a read timestamp
// and waits until every commit before it is applied (oracle.readTs waits
// for its txnMark). A writer that opened a transaction per batch therefore
// waited, before applying anything, for all the batches it had just handed
// to Badger: the commits did not overlap the next batch's apply, and an
// OTP's accept waited 40–60 ms behind bulk commits before it was even
// applied (measured with make bench).
//
// So the writer never opens a transaction on its own path:
//   - reads go to a readView: a read snapshot plus the overlays of every
//     batch started after it (the chain); a newer snapshot is taken in the
//     background, and when it arrives the batches it covers leave the chain;
//   - writes take transactions from a small stock that filler goroutines keep
//     full. Their read timestamps are stale, which is harmless: the
//     writer's transactions only write, so there is nothing to conflict on.
//
// A batch that starts while none of the writer's batches is in flight
// takes a fresh snapshot first (nothing of the writer's to wait for), so an
// idle writer sees every commit, as before. Under load, a key written
// outside the writer may be read up to one snapshot late. Only the OTP
// records and counters are written both ways (IssueOTPWithSMS in the
// writer, guesses and other daily charges directly); otp_issue.go says why
// that is safe.

// maxChain bounds the batches a readView consults besides its snapshot; at
// the bound the writer waits for the next snapshot.
const maxChain = 64

// readView is the writer's read state (writer goroutine only).
type readView struct {
	s     *Store
	txn   *badger.Txn
	chain []*inflight // batches started after txn was taken, oldest first
	// asking: a newer snapshot is being taken; it will cover the batches
	// up to seq covers.
	asking bool
	fresh  chan freshSnap
	seq    uint64 // last batch sequence number handed out
}

type freshSnap struct {
	txn    *badger.Txn
	covers uint64
}

func newReadView(s *Store) *readView {
	return &readView{s: s, fresh: make(chan freshSnap, 1)}
}

// refreshIfIdle makes sure a batch starting now sees every commit: when no
// batch of the writer's is in the chain, the snapshot is taken again, now
// (it only waits for commits outside the writer).
func (v *readView) refreshIfIdle() {
	if len(v.chain) > 0 {
		return
	}
	if v.asking {
		v.arrived(<-v.fresh)
	}
	v.release()
	v.txn = v.s.db.NewTransaction(false)
}

// release drops the snapshot. An open transaction holds Badger's read
// watermark back (compactions keep old versions, the oracle keeps every
// commit since for conflict checks), so an idle writer holds none.
func (v *readView) release() {
	if v.txn != nil {
		v.txn.Discard()
		v.txn = nil
	}
}

// overlays returns the batches a new batch must consult, oldest first.
func (v *readView) overlays() []*batch {
	prev := make([]*batch, len(v.chain))
	for i, f := range v.chain {
		prev[i] = f.b
	}
	return prev
}

// started adds f (just committed to Badger) to the chain and asks for a
// snapshot that covers it if none is being taken.
func (v *readView) started(f *inflight) {
	v.seq++
	f.seq = v.seq
	v.chain = append(v.chain, f)
	v.ask()
}

func (v *readView) ask() {
	if v.asking || len(v.chain) == 0 {
		return
	}
	v.asking = true
	covers := v.seq
	db := v.s.db
	go func() { v.fresh <- freshSnap{txn: db.NewTransaction(false), covers: covers} }()
}

// arrived installs a newer snapshot: the batches it covers leave the chain
// (those already finished are recycled), and the next snapshot is asked
// for if batches remain.
func (v *readView) arrived(fs freshSnap) {
	v.asking = false
	v.release()
	v.txn = fs.txn
	n := 0
	for n < len(v.chain) && v.chain[n].seq <= fs.covers {
		if f := v.chain[n]; f.finished {
			v.s.recycleBatch(f)
		}
		v.chain[n] = nil
		n++
	}
	v.chain = v.chain[n:]
	if len(v.chain) == 0 {
		v.release() // the next batch takes a fresh one
		return
	}
	v.ask()
}

// finished is called for f when its commit has answered: it is recycled
// unless the chain still holds it; a failed batch leaves the chain (its
// writes never reached the disk).
func (v *readView) finished(f *inflight) {
	f.finished = true
	if f.failed {
		for i, g := range v.chain {
			if g == f {
				v.chain = append(v.chain[:i], v.chain[i+1:]...)
				break
			}
		}
		v.s.recycleBatch(f)
		return
	}
	for _, g := range v.chain {
		if g == f {
			return
		}
	}
	v.s.recycleBatch(f)
}

// close waits for a snapshot being taken and releases both.
func (v *readView) close() {
	if v.asking {
		fs := <-v.fresh
		fs.txn.Discard()
		v.asking = false
	}
	v.release()
}

// writeTxnStock is how many fresh write transactions the fillers keep, and
// how many fillers there are. Each new transaction waits for the commits
// in flight when it was asked for (oracle.readTs), so one filler made
// about one transaction per commit round and the writer, which starts up
// to maxInflight+1 commits per round, waited for the stock (measured:
// 1.8 s of a bulk bench, up to 48 ms at once). Fillers asking at the same
// time wait for the same commits.
const writeTxnStock = 8

// fillWriteTxns keeps s.writeTxns full until the store stops, with
// writeTxnStock fillers. A filler whose transaction the writer has not
// taken for a second discards it and the stock: like an open snapshot, an
// old transaction holds Badger's read watermark back.
func (s *Store) fillWriteTxns() {
	defer s.wg.Done()
	defer close(s.fillerDone)
	var fillers sync.WaitGroup
	for range writeTxnStock {
		fillers.Go(s.fillWriteTxn)
	}
	fillers.Wait()
}

// fillWriteTxn is one filler.
func (s *Store) fillWriteTxn() {
	idle := time.NewTimer(time.Second)
	defer idle.Stop()
	discardStock := func() {
		for {
			select {
			case t := <-s.writeTxns:
				t.Discard()
			default:
				return
			}
		}
	}
	for {
		t := s.db.NewTransaction(true)
		select {
		case s.writeTxns <- t:
			idle.Reset(time.Second)
		case <-idle.C:
			t.Discard()
			discardStock()
			idle.Reset(time.Second)
		case <-s.stop:
			t.Discard()
			discardStock()
			return
		}
	}
}

// writeTxn returns a write transaction for the writer's commit.
func (s *Store) writeTxn() *badger.Txn {
	select {
	case t := <-s.writeTxns:
		return t
	case <-s.fillerDone:
		return s.db.NewTransaction(true)
	}
}
