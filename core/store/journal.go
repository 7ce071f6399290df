package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
	"unsafe"

	badger "github.com/dgraph-io/badger/v4"
)

// The express journal: an express batch (an OTP's accept) is appended to a
// small file of its own, synchronously, while Badger commits it.
// Once the journal has it on disk, the batch's OTPs are offered to the
// scheduler: the SMS leaves after one small sync instead of after Badger's
// write queue, where an OTP's commit waited behind the bulk's groups (p99
// 30 ms of the OTP's 50 ms budget under bulk load). Callers are still
// answered once Badger has the batch, so a reader that was answered finds
// what it wrote.
//
// Recovery: every journaled batch also writes, in its Badger transaction,
// the marker key s/journal = (epoch, seq). Badger commits in order, so the
// marker on disk names the last journaled batch Badger has; at Open the
// records after it are applied again (their writes are absolute values).
// The writer starts a new epoch, rewriting the file from its start, only
// when Badger has answered every journaled batch: records left from an
// older epoch fail their checksum (which covers the epoch) and end the log.
//
// File layout (journalSize bytes, written with zeros when created so that
// a synchronous write never has to allocate):
//
//	header  (32 bytes): "VGWJRNL1", epoch u64 BE, crc32c of both u32 BE, zeros
//	records: payload length u32 BE, crc32c(epoch BE || payload) u32 BE, payload
//	payload: seq u64 BE (1, 2, … within an epoch), then per write:
//	         flags byte (1 delete, 2 expiry), key length uvarint, key,
//	         [value length uvarint, value (not for deletes)], [expiry u64 BE, unix seconds]

const (
	journalFile       = "express.journal"
	journalMagic      = "VGWJRNL1"
	journalHeaderSize = 32
	journalSize       = 1 << 20
	// journalMaxRecord bounds a record (an express batch is at most
	// maxExpressItems small ops; anything larger is not journaled).
	journalMaxRecord = 256 << 10

	jflagDelete = 1
	jflagExpiry = 2
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// journalRecord is one journaled batch, decoded.
type journalRecord struct {
	seq    uint64
	writes []journalWrite
}

type journalWrite struct {
	key, val  []byte
	del       bool
	expiresAt uint64
}

func encodeJournalHeader(dst []byte, epoch uint64) []byte {
	start := len(dst)
	dst = append(dst, journalMagic...)
	dst = binary.BigEndian.AppendUint64(dst, epoch)
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], crc32c))
	for len(dst)-start < journalHeaderSize {
		dst = append(dst, 0)
	}
	return dst
}

// encodeJournalRecord appends the record of a batch's log.
func encodeJournalRecord(dst []byte, epoch, seq uint64, log []logEntry, now time.Time) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 8)...) // length and checksum, below
	dst = binary.BigEndian.AppendUint64(dst, seq)
	for i := range log {
		e := &log[i]
		var flags byte
		if e.ov.del {
			flags |= jflagDelete
		} else if e.ov.ttl > 0 {
			flags |= jflagExpiry
		}
		dst = append(dst, flags)
		dst = binary.AppendUvarint(dst, uint64(len(e.bkey)))
		dst = append(dst, e.bkey...)
		if !e.ov.del {
			dst = binary.AppendUvarint(dst, uint64(len(e.ov.val)))
			dst = append(dst, e.ov.val...)
		}
		if flags&jflagExpiry != 0 {
			// As Badger's WithTTL computes it.
			dst = binary.BigEndian.AppendUint64(dst, uint64(now.Add(e.ov.ttl).Unix()))
		}
	}
	payload := dst[start+8:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(dst[start+4:], journalChecksum(epoch, payload))
	return dst
}

func journalChecksum(epoch uint64, payload []byte) uint32 {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	return crc32.Update(crc32.Checksum(e[:], crc32c), crc32c, payload)
}

// decodeJournal returns the file's epoch and its valid records, in order:
// it stops at the first record that is torn, fails its checksum (zeros, or
// a record of an older epoch) or breaks the sequence. ok is false when the
// header itself is not valid (a new or damaged file: nothing to replay).
func decodeJournal(data []byte) (epoch uint64, recs []journalRecord, ok bool) {
	if len(data) < journalHeaderSize || string(data[:8]) != journalMagic ||
		binary.BigEndian.Uint32(data[16:20]) != crc32.Checksum(data[:16], crc32c) {
		return 0, nil, false
	}
	epoch = binary.BigEndian.Uint64(data[8:16])
	off := journalHeaderSize
	for len(data)-off >= 8 {
		n := int(binary.BigEndian.Uint32(data[off:]))
		if n < 8 || n > journalMaxRecord || n > len(data)-off-8 {
			break
		}
		payload := data[off+8 : off+8+n]
		if binary.BigEndian.Uint32(data[off+4:]) != journalChecksum(epoch, payload) {
			break
		}
		r, err := decodeJournalPayload(payload)
		if err != nil || r.seq != uint64(len(recs))+1 {
			break
		}
		recs = append(recs, r)
		off += 8 + n
	}
	return epoch, recs, true
}

var errJournalRecord = errors.New("malformed journal record")

func decodeJournalPayload(p []byte) (journalRecord, error) {
	var r journalRecord
	if len(p) < 8 {
		return r, errJournalRecord
	}
	r.seq = binary.BigEndian.Uint64(p)
	p = p[8:]
	for len(p) > 0 {
		var w journalWrite
		flags := p[0]
		p = p[1:]
		if flags&^(jflagDelete|jflagExpiry) != 0 || flags == jflagDelete|jflagExpiry {
			return r, errJournalRecord
		}
		w.del = flags&jflagDelete != 0
		var ok bool
		if w.key, p, ok = journalBytes(p); !ok || len(w.key) == 0 {
			return r, errJournalRecord
		}
		if !w.del {
			if w.val, p, ok = journalBytes(p); !ok {
				return r, errJournalRecord
			}
		}
		if flags&jflagExpiry != 0 {
			if len(p) < 8 {
				return r, errJournalRecord
			}
			w.expiresAt = binary.BigEndian.Uint64(p)
			p = p[8:]
		}
		r.writes = append(r.writes, w)
	}
	return r, nil
}

func journalBytes(p []byte) (b, rest []byte, ok bool) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, nil, false
	}
	return p[k : k+int(n)], p[k+int(n):], true
}

// journalMarker is the value of keyJournal: epoch and seq of the last
// journaled batch in Badger.
func journalMarker(epoch, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), epoch), seq)
}

// journal is the writer's side of the express journal. The writer owns
// epoch, seq and off; the I/O goroutine (journalLoop) only writes and
// syncs, in the order the writer hands it records.
type journal struct {
	f *os.File
	// img is the file's content (journalSize bytes, aligned for direct
	// I/O), owned by journalLoop: records are copied in and the blocks
	// they touch written whole.
	img   []byte
	epoch uint64
	seq   uint64
	off   int64
	// outstanding counts the journaled batches Badger has not answered
	// yet; a new epoch starts only when it is 0.
	outstanding atomic.Int64
	jobs        chan journalJob
	// broken: a write or sync failed; the writer stops journaling (the
	// batches go back to being offered after their commit).
	broken atomic.Bool
}

// journalJob is a record (and, at the start of an epoch, the header before
// it) to write at off.
type journalJob struct {
	data []byte
	off  int64
	f    *inflight
}

// openJournal replays the journal's records that Badger does not have and
// starts a new epoch. With use false (no fsync configured, or an in-memory
// store) it only replays an existing file and returns nil.
func (s *Store) openJournal(use bool) (*journal, error) {
	path := filepath.Join(s.cfg.Dir, journalFile)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read express journal: %w", err)
	}
	epoch, recs, _ := decodeJournal(data)
	last, err := s.replayJournal(epoch, recs)
	if err != nil {
		return nil, err
	}
	if !use {
		return nil, nil
	}
	j := &journal{epoch: max(epoch, last) + 1, jobs: make(chan journalJob, 64)}
	// A fresh file: the header of the new epoch, then zeros; img is its
	// content from now on.
	j.img = alignedBlock(journalSize)
	encodeJournalHeader(j.img[:0], j.epoch)
	if err := writeFileSync(path, j.img); err != nil {
		return nil, fmt.Errorf("create express journal: %w", err)
	}
	if j.f, err = openJournalFile(path); err != nil {
		return nil, fmt.Errorf("open express journal: %w", err)
	}
	j.off = journalHeaderSize
	return j, nil
}

// replayJournal applies the records Badger does not have (those after the
// marker) and returns the marker's epoch.
func (s *Store) replayJournal(epoch uint64, recs []journalRecord) (markerEpoch uint64, err error) {
	var mseq uint64
	err = s.db.View(func(txn *badger.Txn) error {
		v, err := getValue(txn, []byte(keyJournal))
		if err != nil || v == nil {
			return err
		}
		if len(v) != 16 {
			return errCorrupt
		}
		markerEpoch, mseq = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read journal marker: %w", err)
	}
	switch {
	case epoch < markerEpoch:
		recs = nil // a file older than Badger's marker: Badger has it all
	case epoch == markerEpoch:
		for len(recs) > 0 && recs[0].seq <= mseq {
			recs = recs[1:]
		}
	}
	if len(recs) == 0 {
		return markerEpoch, nil
	}
	// In order, in as few transactions as fit (the records are small).
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	write := func(e *badger.Entry, del bool) error {
		for try := 0; ; try++ {
			var err error
			if del {
				err = txn.Delete(e.Key)
			} else {
				err = txn.SetEntry(e)
			}
			if !errors.Is(err, badger.ErrTxnTooBig) || try > 0 {
				return err
			}
			if err := txn.Commit(); err != nil {
				return err
			}
			txn = s.db.NewTransaction(true)
		}
	}
	writes := 0
	for _, r := range recs {
		for _, w := range r.writes {
			e := badger.NewEntry(w.key, w.val)
			e.ExpiresAt = w.expiresAt
			if err := write(e, w.del); err != nil {
				return 0, fmt.Errorf("replay express journal: %w", err)
			}
			writes++
		}
	}
	lastSeq := recs[len(recs)-1].seq
	if err := write(badger.NewEntry([]byte(keyJournal), journalMarker(epoch, lastSeq)), false); err != nil {
		return 0, fmt.Errorf("replay express journal: %w", err)
	}
	if err := txn.Commit(); err != nil {
		return 0, fmt.Errorf("replay express journal: %w", err)
	}
	if err := s.db.Sync(); err != nil {
		return 0, fmt.Errorf("replay express journal: %w", err)
	}
	s.log.Warn().Int("batches", len(recs)).Int("writes", writes).Uint64("epoch", epoch).
		Msg("store: express batches replayed from the journal (they were not in the database after a crash)")
	return epoch, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// The file's name is durable too.
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// journalBatch, on the writer goroutine before f's commit, adds the marker
// to an express batch and hands its record to the I/O goroutine. It
// returns false (f is committed and offered as any batch) when the journal
// is off or broken, or the record does not fit.
func (s *Store) journalBatch(f *inflight) bool {
	j := s.jnl
	if j == nil || j.broken.Load() {
		return false
	}
	b := f.b
	// A new epoch when Badger has every journaled batch.
	reset := j.outstanding.Load() == 0 && j.off > journalHeaderSize
	epoch, seq, off := j.epoch, j.seq+1, j.off
	var data []byte
	if reset {
		epoch, seq, off = j.epoch+1, 1, journalHeaderSize
		data = encodeJournalHeader(make([]byte, 0, 1024), epoch)
	}
	n := len(b.log)
	b.set([]byte(keyJournal), journalMarker(epoch, seq))
	data = encodeJournalRecord(data, epoch, seq, b.log, b.now)
	rec := int64(len(data))
	if reset {
		rec -= journalHeaderSize
	}
	if rec-8 > journalMaxRecord || off+rec > journalSize {
		b.rollback(n)
		return false
	}
	j.epoch, j.seq, j.off = epoch, seq, off+rec
	j.outstanding.Add(1)
	f.journal = make(chan struct{})
	j.jobs <- journalJob{data: data, off: off + rec - int64(len(data)), f: f}
	return true
}

// journalLoop writes and syncs the records the writer hands it, several at
// once when they queue, and then offers their batches (journaled).
func (s *Store) journalLoop() {
	defer s.wg.Done()
	j := s.jnl
	var jobs []journalJob
	for first := range j.jobs {
		jobs = append(jobs[:0], first)
	drain:
		for {
			select {
			case jb, ok := <-j.jobs:
				if !ok {
					break drain
				}
				jobs = append(jobs, jb)
			default:
				break drain
			}
		}
		t0 := time.Now()
		var err error
		if !j.broken.Load() {
			lo, hi := int64(journalSize), int64(0)
			for _, jb := range jobs {
				copy(j.img[jb.off:], jb.data)
				lo, hi = min(lo, jb.off), max(hi, jb.off+int64(len(jb.data)))
			}
			lo, hi = lo&^(journalBlock-1), min((hi+journalBlock-1)&^(journalBlock-1), journalSize)
			err = writeJournal(j.f, j.img[lo:hi], lo)
		} else {
			err = errors.New("journal broken")
		}
		if err != nil && !j.broken.Swap(true) {
			s.log.Error().Err(err).Msg("store: express journal write failed; OTPs are offered after their commit from now on")
		}
		if err == nil {
			s.metrics.journalSync.Observe(time.Since(t0).Seconds())
		}
		for _, jb := range jobs {
			s.journaled(jb.f, err == nil)
		}
	}
	_ = j.f.Close()
}

// journaled runs once f's record is on disk (ok) or failed: the batch's
// effects (its scheduler offers) run now when the offers' order allows
// (see finishExpress); otherwise the finish runs them, as for any batch.
// Callers are still answered by the finish, once Badger has the batch.
func (s *Store) journaled(f *inflight, ok bool) {
	defer close(f.journal)
	if !ok || f.offerSeq > 0 && s.otpOffersDone.Load() != f.offerSeq-1 {
		return
	}
	for _, o := range f.ops {
		if o.err == nil {
			f.b.runEffects(o)
		}
	}
	s.effectsDone(f)
	f.effectsRun = true
}

// journalBlock is the unit of the journal's direct writes.
const journalBlock = 4096

// alignedBlock returns n zero bytes starting on a journalBlock boundary.
func alignedBlock(n int) []byte {
	b := make([]byte, n+journalBlock)
	off := journalBlock - int(uintptr(unsafe.Pointer(&b[0]))%journalBlock)
	if off == journalBlock {
		off = 0
	}
	return b[off : off+n : off+n]
}
