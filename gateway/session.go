package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"vneidgw/core"

	"github.com/rs/zerolog"
)

var (
	errSessionClosed = errors.New("gateway: session closed")
	errNoResponse    = errors.New("gateway: no response within the response timeout")
)

// reqKind says what an outstanding request is.
type reqKind uint8

const (
	reqSubmit reqKind = iota + 1
	reqUSSD
	reqEnquire
	reqUnbind
)

// pendingReq is one request waiting for its response. A response matches
// only if both the sequence number and the expected command id agree
// (generic_nack answers any request).
type pendingReq struct {
	respID   uint32
	kind     reqKind
	ms       *msgState // reqSubmit
	part     int       // reqSubmit: 0-based part index
	bulk     bool      // reqSubmit: holds a slot of session.bulk too
	sentAt   time.Time
	deadline time.Time
	done     chan respResult // other kinds; buffered 1
}

type respResult struct {
	status CommandStatus
	err    error
}

// lateEntry remembers a timed-out submit so that a late submit_sm_resp can
// still settle the part.
type lateEntry struct {
	msgID   string
	part    int
	sentAt  time.Time
	expires time.Time
}

// session is one bound SMPP connection. Its goroutines (reader, writer,
// timer, inbound worker) are owned by start/wait.
type session struct {
	b    *bind
	conn net.Conn
	br   *bufio.Reader
	log  zerolog.Logger

	wq       chan *[]byte
	done     chan struct{} // closed when the session ends
	failOnce sync.Once
	failErr  error

	mu          sync.Mutex
	draining    bool
	finalized   bool
	seq         uint32
	inflight    map[uint32]*pendingReq
	late        map[uint32]lateEntry
	nSubmits    int // submit/ussd entries in inflight
	enquiring   bool
	unbindStart bool

	window chan struct{}
	// bulk bounds the main sender's share of the window: the rest is kept
	// for the express (OTP) sender, so an OTP never waits for a window
	// the approvals keep full. nil when the window is too small to share.
	bulk    chan struct{}
	lastRx  atomic.Int64
	inbound chan []byte
	wg      sync.WaitGroup
}

func newSession(b *bind, conn net.Conn) *session {
	s := &session{
		b:        b,
		conn:     conn,
		br:       bufio.NewReaderSize(conn, 64<<10),
		log:      b.log,
		wq:       make(chan *[]byte, b.cfg.Window+64),
		done:     make(chan struct{}),
		inflight: make(map[uint32]*pendingReq, b.cfg.Window+4),
		late:     make(map[uint32]lateEntry),
		window:   make(chan struct{}, b.cfg.Window),
		inbound:  make(chan []byte, 1024),
		seq:      b.g.seqStart,
	}
	if r := expressReserve(b.cfg.Window); r > 0 {
		s.bulk = make(chan struct{}, b.cfg.Window-r)
	}
	s.lastRx.Store(time.Now().UnixNano())
	return s
}

// nextSeqLocked returns the next sequence number: 1..0x7FFFFFFF, wrapping
// to 1 and skipping numbers still outstanding.
func (s *session) nextSeqLocked() uint32 {
	for {
		s.seq++
		if s.seq > maxSeq || s.seq == 0 {
			s.seq = 1
		}
		if _, busy := s.inflight[s.seq]; !busy {
			return s.seq
		}
	}
}

// fail ends the session (idempotent).
func (s *session) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.done)
		_ = s.conn.Close()
	})
}

func (s *session) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// handshake binds the connection synchronously.
func (s *session) handshake(ctx context.Context) error {
	cfg := &s.b.cfg
	id := cmdBindTransceiver
	switch cfg.Mode {
	case ModeTransmitter:
		id = cmdBindTransmitter
	case ModeReceiver:
		id = cmdBindReceiver
	}
	s.mu.Lock()
	seq := s.nextSeqLocked()
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = s.conn.Close() })
	defer stop()
	timeout := min(cfg.ResponseTimeout, 30*time.Second)
	_ = s.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := s.conn.Write(appendBind(nil, id, seq, cfg.SystemID, cfg.Password, cfg.SystemType)); err != nil {
		return fmt.Errorf("write bind: %w", err)
	}
	buf := make([]byte, 512)
	for {
		frame, err := readFrame(s.br, buf)
		if err != nil {
			return fmt.Errorf("read bind_resp: %w", err)
		}
		h := parseHeader(frame)
		switch {
		case h.ID == id|respBit && h.Seq == seq:
			if h.Status != 0 {
				return fmt.Errorf("bind refused: %w", CommandStatus(h.Status))
			}
			_ = s.conn.SetDeadline(time.Time{})
			return nil
		case h.ID == cmdGenericNack && h.Seq == seq:
			return fmt.Errorf("bind answered by generic_nack: %w", CommandStatus(h.Status))
		case h.ID == cmdEnquireLink:
			if _, err := s.conn.Write(appendEmpty(nil, cmdEnquireLinkResp, 0, h.Seq)); err != nil {
				return err
			}
		}
	}
}

// start runs the session's goroutines.
func (s *session) start() {
	s.wg.Add(4)
	go func() { defer s.wg.Done(); s.reader() }()
	go func() { defer s.wg.Done(); s.writer() }()
	go func() { defer s.wg.Done(); s.timer() }()
	go func() { defer s.wg.Done(); s.inboundWorker() }()
}

// wait waits for the session's goroutines (the session must be failing)
// and settles what is still outstanding: submits become unknown (they may
// have reached the SMSC and are never resent).
func (s *session) wait() {
	s.wg.Wait()
	s.mu.Lock()
	s.finalized = true
	pend := s.inflight
	s.inflight = map[uint32]*pendingReq{}
	s.nSubmits = 0
	s.mu.Unlock()
	// Frames the writer never took were certainly not sent: those parts
	// go back to the queue instead of becoming unknown.
	for more := true; more; {
		select {
		case fb := <-s.wq:
			if h := parseHeader(*fb); h.ID == cmdSubmitSM {
				if p, ok := pend[h.Seq]; ok && p.kind == reqSubmit {
					delete(pend, h.Seq)
					s.b.outbox.push(outcome{ms: p.ms, part: p.part, kind: okNotSent, token: true})
				}
			}
			s.b.putBuf(fb)
		default:
			more = false
		}
	}
	now := time.Now()
	for seq, p := range pend {
		if p.kind == reqSubmit && s.b.g.cfg.ResendOnDrop {
			delete(pend, seq)
			s.b.outbox.push(outcome{ms: p.ms, part: p.part, kind: okNotSent, token: true})
			continue
		}
		s.settleGone(p, now, "connection_lost")
	}
	s.b.m.windowInUse.WithLabelValues(s.b.op.name, s.b.cfg.Name).Set(0)
}

// settleGone resolves a request that will get no response.
func (s *session) settleGone(p *pendingReq, now time.Time, reason string) {
	switch p.kind {
	case reqSubmit:
		s.b.outbox.push(outcome{ms: p.ms, part: p.part, kind: okUnknown, token: true, reason: reason, sentAt: p.sentAt})
	default:
		if p.done != nil {
			p.done <- respResult{err: errNoResponse}
		}
	}
}

// shutdown stops new submits, waits up to grace for outstanding ones,
// unbinds politely and ends the session.
func (s *session) shutdown(grace time.Duration) {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	deadline := time.Now().Add(grace)
	for !s.isDone() && time.Now().Before(deadline) {
		s.mu.Lock()
		n := s.nSubmits
		s.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !s.isDone() {
		ch := make(chan respResult, 1)
		seq, err := s.register(&pendingReq{respID: cmdUnbindResp, kind: reqUnbind, done: ch}, min(grace, 2*time.Second), true)
		if err == nil {
			fb := s.b.getBuf()
			*fb = appendEmpty((*fb)[:0], cmdUnbind, 0, seq)
			if s.send(fb) == nil {
				select {
				case <-ch:
				case <-s.done:
				case <-time.After(min(grace, 2*time.Second)):
				}
			}
		}
	}
	s.fail(errSessionClosed)
}

// register adds an outstanding request and returns its sequence number.
// force lets unbind through while draining.
func (s *session) register(p *pendingReq, timeout time.Duration, force bool) (uint32, error) {
	now := time.Now()
	if p.sentAt.IsZero() {
		p.sentAt = now
	}
	p.deadline = now.Add(timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finalized || (s.draining && !force) || s.isDone() {
		return 0, errSessionClosed
	}
	seq := s.nextSeqLocked()
	s.inflight[seq] = p
	if p.kind == reqSubmit || p.kind == reqUSSD {
		s.nSubmits++
	}
	return seq, nil
}

// unregister removes seq if it is still outstanding (its frame was never
// written) and frees its window slot; it reports whether it did.
func (s *session) unregister(seq uint32) bool {
	s.mu.Lock()
	p, ok := s.inflight[seq]
	if ok {
		s.removeLocked(seq, p)
	}
	s.mu.Unlock()
	return ok
}

// removeLocked deletes an outstanding request and frees its window slot.
func (s *session) removeLocked(seq uint32, p *pendingReq) {
	delete(s.inflight, seq)
	switch p.kind {
	case reqSubmit, reqUSSD:
		s.nSubmits--
		select {
		case <-s.window:
		default:
		}
		if p.bulk {
			select {
			case <-s.bulk:
			default:
			}
		}
	case reqEnquire:
		s.enquiring = false
	}
}

// expressReserve is the part of a window the main sender leaves to the
// express sender: an eighth, at most one whole message; none below 8.
func expressReserve(window int) int {
	return min(window/8, core.MaxParts)
}

// acquireBulk takes a slot of the main sender's share of the window
// (released with the request, or by releaseBulk); false when the session
// or ctx ended.
func (s *session) acquireBulk(ctx context.Context) bool {
	if s.bulk == nil {
		return true
	}
	select {
	case s.bulk <- struct{}{}:
		return true
	case <-s.done:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s *session) releaseBulk() {
	select {
	case <-s.bulk: // a nil channel never receives
	default:
	}
}

// acquire takes a window slot, waiting while the window is full.
func (s *session) acquire(ctx context.Context) error {
	select {
	case s.window <- struct{}{}:
		return nil
	case <-s.done:
		return errSessionClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release frees a slot taken by acquire that was not registered.
func (s *session) release() {
	select {
	case <-s.window:
	default:
	}
}

// send queues a frame for the writer; the writer returns the buffer to the pool.
func (s *session) send(fb *[]byte) error {
	select {
	case s.wq <- fb:
		return nil
	case <-s.done:
		s.b.putBuf(fb)
		return errSessionClosed
	}
}

func (s *session) sendEmpty(id, status, seq uint32) {
	fb := s.b.getBuf()
	*fb = appendEmpty((*fb)[:0], id, status, seq)
	_ = s.send(fb)
}

func (s *session) nack(seq uint32, st CommandStatus) {
	s.b.mGenericNacks.Inc()
	s.sendEmpty(cmdGenericNack, uint32(st), seq)
}

// writer writes queued frames, flushing when the queue is empty.
func (s *session) writer() {
	bw := bufio.NewWriterSize(s.conn, 64<<10)
	write := func(fb *[]byte) error {
		_, err := bw.Write(*fb)
		s.b.putBuf(fb)
		return err
	}
	for {
		select {
		case fb := <-s.wq:
			err := write(fb)
			for more := true; more && err == nil; {
				select {
				case fb = <-s.wq:
					err = write(fb)
				default:
					more = false
				}
			}
			if err == nil {
				_ = s.conn.SetWriteDeadline(time.Now().Add(s.b.cfg.ResponseTimeout))
				err = bw.Flush()
			}
			if err != nil {
				s.fail(fmt.Errorf("write: %w", err))
				return
			}
		case <-s.done:
			return
		}
	}
}

// reader decodes frames and dispatches them; it never waits for the store
// or a handler (deliver_sm goes to the inbound worker).
func (s *session) reader() {
	buf := make([]byte, 4096)
	for {
		frame, err := readFrame(s.br, buf)
		if err != nil {
			if errors.Is(err, errFrameLength) {
				s.nack(0, StatusInvalidCmdLen)
			}
			s.fail(fmt.Errorf("read: %w", err))
			return
		}
		if cap(frame) > cap(buf) {
			buf = frame[:0]
		}
		s.lastRx.Store(time.Now().UnixNano())
		s.dispatch(parseHeader(frame), frame)
	}
}

func (s *session) dispatch(h header, frame []byte) {
	switch {
	case h.ID == cmdSubmitSMResp:
		s.onSubmitResp(h, frame)
	case h.ID&respBit != 0:
		s.onResponse(h)
	case h.ID == cmdDeliverSM:
		cp := make([]byte, len(frame))
		copy(cp, frame)
		select {
		case s.inbound <- cp:
		case <-s.done:
		}
	case h.ID == cmdEnquireLink:
		s.sendEmpty(cmdEnquireLinkResp, 0, h.Seq)
	case h.ID == cmdUnbind:
		s.log.Info().Msg("smsc unbinds")
		s.mu.Lock()
		s.draining = true
		s.mu.Unlock()
		s.sendEmpty(cmdUnbindResp, 0, h.Seq)
		_ = s.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	default:
		// data_sm, alert_notification, outbind, unknown ids: not ours.
		s.log.Debug().Uint32("command_id", h.ID).Msg("unhandled pdu, generic_nack")
		s.nack(h.Seq, StatusInvalidCmdID)
	}
}

// match returns the outstanding request that a response answers.
func (s *session) matchLocked(h header) *pendingReq {
	p, ok := s.inflight[h.Seq]
	if !ok || (h.ID != cmdGenericNack && h.ID != p.respID) {
		return nil
	}
	s.removeLocked(h.Seq, p)
	return p
}

func (s *session) onSubmitResp(h header, frame []byte) {
	now := time.Now()
	s.mu.Lock()
	p := s.matchLocked(h)
	var le lateEntry
	var late bool
	if p == nil {
		le, late = s.late[h.Seq]
		if late {
			delete(s.late, h.Seq)
		}
	}
	s.mu.Unlock()
	st := CommandStatus(h.Status)
	switch {
	case p != nil && p.kind == reqSubmit:
		o := outcome{ms: p.ms, part: p.part, status: st, token: true, sentAt: p.sentAt, at: now}
		switch {
		case st == StatusOK:
			o.kind, o.smscID = okSubmitted, parseSubmitSMResp(frame)
			// An acceptance ends a run of throttles, in response order (the
			// completer runs later, in batches: resetting there let the
			// back-off level climb under a steady share of throttling).
			s.b.noteAccepted()
		case st.Throttled():
			o.kind = okRetry
			s.b.noteThrottle(now)
		case st.Temporary():
			o.kind = okRetry
		default:
			o.kind = okFinal
		}
		s.b.outbox.push(o)
	case p != nil && p.done != nil:
		p.done <- respResult{status: st}
	case late:
		s.b.outbox.push(outcome{kind: okLate, status: st, smscID: parseSubmitSMResp(frame),
			lateMsgID: le.msgID, part: le.part, sentAt: le.sentAt, at: now})
	default:
		s.log.Warn().Uint32("seq", h.Seq).Msg("submit_sm_resp for no outstanding submit")
	}
}

func (s *session) onResponse(h header) {
	s.mu.Lock()
	p := s.matchLocked(h)
	s.mu.Unlock()
	if p == nil {
		if h.ID == cmdGenericNack {
			s.log.Warn().Uint32("seq", h.Seq).Uint32("status", h.Status).Msg("generic_nack for no outstanding request")
		}
		return
	}
	st := CommandStatus(h.Status)
	if h.ID == cmdGenericNack && st == StatusOK {
		st = StatusSystemError
	}
	switch p.kind {
	case reqSubmit: // generic_nack to a submit_sm
		k := okFinal
		if st.Temporary() {
			k = okRetry
		}
		s.b.outbox.push(outcome{ms: p.ms, part: p.part, kind: k, status: st, token: true, sentAt: p.sentAt, at: time.Now()})
	default:
		if p.done != nil {
			p.done <- respResult{status: st}
		}
	}
}

// timer expires outstanding requests and sends enquire_link when idle.
func (s *session) timer() {
	cfg := &s.b.cfg
	tick := min(max(cfg.ResponseTimeout/4, 5*time.Millisecond), 500*time.Millisecond, max(cfg.EnquireLink/2, 5*time.Millisecond))
	t := time.NewTicker(tick)
	defer t.Stop()
	gauge := s.b.m.windowInUse.WithLabelValues(s.b.op.name, cfg.Name)
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.expire(now)
			gauge.Set(float64(len(s.window)))
			if now.Sub(time.Unix(0, s.lastRx.Load())) >= cfg.EnquireLink {
				s.enquire()
			}
		}
	}
}

func (s *session) expire(now time.Time) {
	var gone []*pendingReq
	keep := max(10*s.b.cfg.ResponseTimeout, time.Minute)
	s.mu.Lock()
	for seq, p := range s.inflight {
		if now.After(p.deadline) {
			s.removeLocked(seq, p)
			gone = append(gone, p)
			if p.kind == reqSubmit {
				s.late[seq] = lateEntry{msgID: p.ms.m.ID, part: p.part, sentAt: p.sentAt, expires: now.Add(keep)}
			}
		}
	}
	for seq, l := range s.late {
		if now.After(l.expires) {
			delete(s.late, seq)
		}
	}
	s.mu.Unlock()
	for _, p := range gone {
		if p.kind == reqEnquire {
			s.fail(errors.New("enquire_link: no response"))
			continue
		}
		s.settleGone(p, now, "no_response")
	}
}

func (s *session) enquire() {
	s.mu.Lock()
	busy := s.enquiring
	s.mu.Unlock()
	if busy {
		return
	}
	seq, err := s.register(&pendingReq{respID: cmdEnquireLinkResp, kind: reqEnquire}, s.b.cfg.ResponseTimeout, true)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.enquiring = true
	s.mu.Unlock()
	s.sendEmpty(cmdEnquireLink, 0, seq)
}
