package smscsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

// Server is a running SMSC simulator. Create it with New, then Start.
// All methods are safe for concurrent use.
type Server struct {
	cfg      Config
	log      zerolog.Logger
	m        *metrics
	faults   atomic.Pointer[Faults]
	dlrRetry time.Duration // how long a DLR may stay unacknowledged before it is sent again
	respHex  bool
	dlrHex   bool

	sched     *scheduler
	wg        sync.WaitGroup
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error

	nextID     atomic.Uint64 // SMSC message ids
	nextSeed   atomic.Uint64
	submits    atomic.Uint64
	parts      atomic.Uint64
	messages   atomic.Uint64
	duplicates atomic.Uint64
	throttled  atomic.Uint64
	rejected   atomic.Uint64
	dlrsSent   atomic.Uint64
	dlrsAcked  atomic.Uint64
	nacksRecv  atomic.Uint64

	mu       sync.Mutex // guards the fields below and every conn's mode and systemID
	ln       net.Listener
	addr     string
	closed   bool
	conns    map[*conn]struct{}
	rx       map[string][]*conn // receiver-capable binds by system_id
	rr       uint64
	pending  map[string][]*dlr // DLRs waiting for a receiver bind, by system_id
	binds    int
	boundNow int

	inbox inboxState

	ussdReplies chan USSDReply
}

// Stats counts what the simulator saw. See the field comments in the
// package API; Throttled counts both 0x58 and 0x14 answers (MaxTPS too).
type Stats struct {
	Binds, BoundNow      int
	Submits, Parts       uint64 // submit_sm PDUs received (USSD replies excluded) / accepted
	Messages             uint64 // complete messages (all parts of a concatenated text received)
	Duplicates           uint64 // parts received again (same dest + same short_message bytes + same part) after being accepted
	Throttled, Rejected  uint64
	DLRsSent, DLRsAcked  uint64
	GenericNacksReceived uint64
}

// New checks cfg and prepares a server; reg may be nil.
func New(cfg Config, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, core.Errorf(core.EINVALID, "smscsim: register metrics: %w", err)
	}
	s := &Server{
		cfg:         cfg,
		log:         cfg.Log.With().Str("component", "smscsim").Logger(),
		m:           m,
		dlrRetry:    defaultDLRRetry,
		respHex:     cfg.IDFormat == "hex",
		dlrHex:      cfg.DLRIDFormat == "hex",
		sched:       newScheduler(),
		closing:     make(chan struct{}),
		conns:       make(map[*conn]struct{}),
		rx:          make(map[string][]*conn),
		pending:     make(map[string][]*dlr),
		ussdReplies: make(chan USSDReply, ussdReplyBuffer),
	}
	s.inbox.init()
	f := cfg.Faults
	s.faults.Store(&f)
	// Start ids high enough that hex and decimal spellings differ.
	s.nextID.Store(0x2a000000)
	s.nextSeed.Store(uint64(time.Now().UnixNano()))
	return s, nil
}

// Start listens and serves in the background; it returns once the
// listener is up.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return core.Errorf(core.EUNAVAILABLE, "smscsim: server closed")
	}
	if s.ln != nil {
		return core.Errorf(core.ECONFLICT, "smscsim: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return core.Errorf(core.EUNAVAILABLE, "smscsim: listen %s: %w", s.cfg.Addr, err)
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.acceptLoop(ln) }()
	go func() { defer s.wg.Done(); s.sched.run(s.closing) }()
	s.scheduleSweep()
	s.log.Info().Str("addr", s.addr).Msg("SMSC simulator listening")
	return nil
}

// Addr returns the address the server listens on ("127.0.0.1:port").
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops the listener, closes every connection and waits for all of
// the server's goroutines. The USSDReplies channel is closed at the end.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		ln := s.ln
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		close(s.closing)
		if ln != nil {
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				s.closeErr = fmt.Errorf("smscsim: close listener: %w", err)
			}
		}
		for _, c := range conns {
			c.close()
		}
		s.wg.Wait()
		s.inbox.closeWaiters()
		close(s.ussdReplies)
	})
	return s.closeErr
}

// SetFaults replaces the fault settings; it takes effect for the next PDU.
// Shares are clamped to [0, 1] and negative numbers to 0.
func (s *Server) SetFaults(f Faults) {
	clamp := func(p *float64) {
		if *p < 0 || *p != *p {
			*p = 0
		}
		if *p > 1 {
			*p = 1
		}
	}
	for _, p := range []*float64{&f.ThrottleShare, &f.QueueFullShare, &f.RejectShare, &f.UndelivShare, &f.NoResponseShare, &f.DLRBeforeResp} {
		clamp(p)
	}
	f.ResponseDelay = max(f.ResponseDelay, 0)
	f.UnknownPDUEvery = max(f.UnknownPDUEvery, 0)
	f.DropAfterSubmits = max(f.DropAfterSubmits, 0)
	f.MaxTPS = max(f.MaxTPS, 0)
	s.faults.Store(&f)
}

// DropConnections closes every current client connection (the listener
// stays up, so clients can reconnect). Unacknowledged DLRs are kept and
// sent again to the next receiver-capable bind of their system_id.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	binds, bound := s.binds, s.boundNow
	s.mu.Unlock()
	return Stats{
		Binds:                binds,
		BoundNow:             bound,
		Submits:              s.submits.Load(),
		Parts:                s.parts.Load(),
		Messages:             s.messages.Load(),
		Duplicates:           s.duplicates.Load(),
		Throttled:            s.throttled.Load(),
		Rejected:             s.rejected.Load(),
		DLRsSent:             s.dlrsSent.Load(),
		DLRsAcked:            s.dlrsAcked.Load(),
		GenericNacksReceived: s.nacksRecv.Load(),
	}
}

// Run starts a simulator for `vneidgw smsc-sim`, logs its address and
// serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg, nil)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	s.log.Info().Str("addr", s.Addr()).Str("system_id", cfg.SystemID).Msg("smsc-sim running")
	<-ctx.Done()
	return s.Close()
}

func (s *Server) acceptLoop(ln net.Listener) {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.closing:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-s.closing:
					return
				}
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Error().Err(err).Msg("accept failed")
			select {
			case <-time.After(50 * time.Millisecond):
				continue
			case <-s.closing:
				return
			}
		}
		delay = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go func() { defer s.wg.Done(); c.readLoop() }()
		go func() { defer s.wg.Done(); c.writeLoop() }()
	}
}

// scheduleSweep runs the DLR retransmit sweep periodically on the
// scheduler.
func (s *Server) scheduleSweep() {
	every := min(time.Second, max(s.dlrRetry/4, 5*time.Millisecond))
	var sweep func()
	sweep = func() {
		now := time.Now()
		s.mu.Lock()
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.sweep(now)
		}
		s.sched.at(now.Add(every), sweep)
	}
	s.sched.at(time.Now().Add(every), sweep)
}

// bound registers a successful bind. It runs after the bind_resp has been
// queued, so nothing sent to the client can precede it.
func (s *Server) bound(c *conn, mode bindMode, systemID string) []*dlr {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.mode, c.systemID = mode, systemID
	s.binds++
	s.boundNow++
	s.m.bound.Set(float64(s.boundNow))
	if !mode.canReceive() {
		return nil
	}
	s.rx[systemID] = append(s.rx[systemID], c)
	p := s.pending[systemID]
	delete(s.pending, systemID)
	return p
}

// removeConn forgets a closed connection.
func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if c.mode == modeNone {
		return
	}
	s.boundNow--
	s.m.bound.Set(float64(s.boundNow))
	if c.mode.canReceive() {
		list := s.rx[c.systemID]
		for i, x := range list {
			if x == c {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.rx, c.systemID)
		} else {
			s.rx[c.systemID] = list
		}
	}
}

// pickReceiver chooses the connection for a DLR of systemID: the
// submitting bind when it can receive, else the next receiver-capable bind
// in turn. Call with s.mu held.
func (s *Server) pickReceiver(systemID string, origin *conn) *conn {
	if origin != nil && origin.mode.canReceive() {
		if _, ok := s.conns[origin]; ok {
			return origin
		}
	}
	list := s.rx[systemID]
	if len(list) == 0 {
		return nil
	}
	s.rr++
	return list[s.rr%uint64(len(list))]
}

// routeDLR sends d to a receiver-capable bind of its system_id, or keeps
// it until one binds.
func (s *Server) routeDLR(d *dlr) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		c := s.pickReceiver(d.systemID, d.origin)
		if c == nil {
			q := s.pending[d.systemID]
			if len(q) >= maxPendingDLRs {
				q = q[1:]
			}
			s.pending[d.systemID] = append(q, d)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if c.sendDLR(d) {
			return
		}
		d.origin = nil // that bind just closed; try another
	}
}

func (s *Server) newSeed() uint64 { return s.nextSeed.Add(0x9e3779b97f4a7c15) }
