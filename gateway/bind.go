package gateway

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"vneidgw/core"
)

// Bind states as reported by Binds.
const (
	StateIdle       = "idle"
	StateConnecting = "connecting"
	StateBound      = "bound"
	StateDown       = "down"
	StateStopped    = "stopped"
)

// BindStatus describes one bind.
type BindStatus struct {
	Name     string
	Operator string
	Mode     string
	State    string
	Since    time.Time
	InFlight int // outstanding submit_sm
}

// operator groups the binds of one operator.
type operator struct {
	name  string
	binds []*bind
	up    atomic.Int32 // binds bound now
}

// bind is one configured bind: its connection loop, sender and completer.
type bind struct {
	g       *Gateway
	cfg     BindConfig
	op      *operator
	log     zerolog.Logger
	m       *metrics
	limiter *rate.Limiter // nil: unlimited

	outbox outbox
	// unsettled bounds the parts sent whose outcome is not yet on disk to
	// the window (at least one whole message, whose parts' slots are freed
	// together): after a crash (kill -9) at most that many are sent again.
	unsettled chan struct{}
	// express is the OTP lane's own small pool of unsettled slots (one
	// whole message), so an OTP is never held up by approvals' slots.
	express chan struct{}
	ussdSem chan struct{}
	ussdWG  sync.WaitGroup
	bufs    sync.Pool

	// awaiting maps the SMSC id of each accepted part of a message that
	// still waits for another part's outcome to that part (completer-owned).
	awaiting map[string]partRef

	runCtx  context.Context // cancelled at shutdown
	baseCtx context.Context // runCtx without its cancellation, for Record

	mu    sync.Mutex
	cur   *session
	curCh chan struct{} // closed when cur changes
	state string
	since time.Time

	throttleMu    sync.Mutex
	throttleLevel int
	pauseUntil    atomic.Int64 // unix nanos; the sender waits until then

	// cached metric children
	mOK, mThrottled, mRetry, mRejected, mUnknown, mLate, mExpired prometheus.Counter
	mParts                                                        prometheus.Counter
	mSubmitDur                                                    prometheus.Observer
	mSlotHold                                                     prometheus.Observer
	mAcceptToSubmit                                               [core.NumPriorities]prometheus.Observer // by priority lane
	mGenericNacks                                                 prometheus.Counter
}

func newBind(g *Gateway, op *operator, cfg BindConfig) *bind {
	b := &bind{
		g:         g,
		cfg:       cfg,
		op:        op,
		log:       g.log.With().Str("operator", op.name).Str("bind", cfg.Name).Logger(),
		m:         g.m,
		unsettled: make(chan struct{}, max(cfg.Window, core.MaxParts)),
		express:   make(chan struct{}, core.MaxParts),
		ussdSem:   make(chan struct{}, 256),
		curCh:     make(chan struct{}),
		awaiting:  make(map[string]partRef),
		state:     StateIdle,
		since:     time.Now(),
	}
	b.outbox.notify = make(chan struct{}, 1)
	b.bufs.New = func() any { s := make([]byte, 0, 256); return &s }
	if cfg.TPS > 0 {
		b.limiter = rate.NewLimiter(rate.Limit(cfg.TPS), max(1, cfg.TPS/20))
	}
	s := g.m.submits
	b.mOK = s.WithLabelValues(op.name, resultOK)
	b.mThrottled = s.WithLabelValues(op.name, resultThrottled)
	b.mRetry = s.WithLabelValues(op.name, resultRetry)
	b.mRejected = s.WithLabelValues(op.name, resultRejected)
	b.mUnknown = s.WithLabelValues(op.name, resultUnknown)
	b.mLate = s.WithLabelValues(op.name, resultLate)
	b.mExpired = s.WithLabelValues(op.name, resultExpired)
	b.mParts = g.m.partsSubmitted.WithLabelValues(op.name)
	b.mSubmitDur = g.m.submitDuration.WithLabelValues(op.name)
	b.mSlotHold = g.m.slotHold.WithLabelValues(op.name)
	for p, kind := range [core.NumPriorities]core.Kind{core.KindOTP, core.KindNotice, core.KindApproval} {
		b.mAcceptToSubmit[p] = g.m.acceptToSubmit.WithLabelValues(op.name, string(kind))
	}
	b.mGenericNacks = g.m.genericNacks.WithLabelValues(op.name)
	g.m.bindUp.WithLabelValues(op.name, cfg.Name).Set(0)
	g.m.bindsUp.WithLabelValues(op.name).Set(0)
	return b
}

func (b *bind) getBuf() *[]byte { return b.bufs.Get().(*[]byte) }

func (b *bind) putBuf(fb *[]byte) {
	if cap(*fb) <= 4096 {
		*fb = (*fb)[:0]
		b.bufs.Put(fb)
	}
}

// run owns the bind's goroutines until ctx ends.
func (b *bind) run(ctx context.Context) {
	b.runCtx = ctx
	b.baseCtx = context.WithoutCancel(ctx)
	stop := make(chan struct{})
	compDone := make(chan struct{})
	go func() { defer close(compDone); b.completer(stop) }()
	var wg sync.WaitGroup
	wg.Go(func() { b.connLoop(ctx) })
	if b.cfg.canTransmit() {
		wg.Go(func() { b.sender(ctx) })
		if lq, ok := b.g.q.(laneQueue); ok {
			wg.Go(func() { b.expressSender(ctx, lq) })
		}
	}
	wg.Wait()
	b.ussdWG.Wait()
	close(stop)
	<-compDone
}

// connLoop connects, binds, serves and reconnects with capped exponential
// back-off and jitter until ctx ends.
func (b *bind) connLoop(ctx context.Context) {
	defer b.setState(StateStopped)
	delay := b.cfg.ReconnectMin
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			b.m.reconnects.WithLabelValues(b.op.name, b.cfg.Name).Inc()
		}
		b.setState(StateConnecting)
		s, err := b.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Warn().Err(err).Dur("retry_in", delay).Msg("bind failed")
			b.setState(StateDown)
			if !sleepCtx(ctx, jitter(delay)) {
				return
			}
			delay = min(delay*2, b.cfg.ReconnectMax)
			continue
		}
		delay = b.cfg.ReconnectMin
		b.log.Info().Str("addr", b.cfg.Addr).Msg("bound")
		s.start()
		b.setSession(s)
		select {
		case <-s.done:
		case <-ctx.Done():
			s.shutdown(min(b.cfg.ResponseTimeout, 5*time.Second))
		}
		b.setSession(nil)
		s.wait()
		if ctx.Err() != nil {
			return
		}
		b.log.Warn().AnErr("reason", s.failErr).Msg("connection lost")
		b.setState(StateDown)
		if !sleepCtx(ctx, jitter(b.cfg.ReconnectMin)) {
			return
		}
	}
}

func (b *bind) connect(ctx context.Context) (*session, error) {
	d := net.Dialer{Timeout: min(b.cfg.ResponseTimeout, 10*time.Second), KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", b.cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := newSession(b, conn)
	if err := s.handshake(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

func (b *bind) setState(st string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != st {
		b.state, b.since = st, time.Now()
	}
}

// setSession publishes the current session (nil when down) and updates
// the bind gauges.
func (b *bind) setSession(s *session) {
	b.mu.Lock()
	was := b.cur != nil
	// The count changes before a waiting sender can see the session, so
	// nothing sent on it is ever seen with the bind counted down.
	switch {
	case s != nil && !was:
		b.op.up.Add(1)
	case s == nil && was:
		b.op.up.Add(-1)
	}
	b.cur = s
	close(b.curCh)
	b.curCh = make(chan struct{})
	st := StateDown
	if s != nil {
		st = StateBound
	}
	if b.state != st {
		b.state, b.since = st, time.Now()
	}
	b.mu.Unlock()
	switch {
	case s != nil && !was:
		b.m.bindUp.WithLabelValues(b.op.name, b.cfg.Name).Set(1)
	case s == nil && was:
		b.m.bindUp.WithLabelValues(b.op.name, b.cfg.Name).Set(0)
	}
	b.m.bindsUp.WithLabelValues(b.op.name).Set(float64(b.op.up.Load()))
}

func (b *bind) current() *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// waitSession blocks until the bind has a session accepting submits.
func (b *bind) waitSession(ctx context.Context) (*session, error) {
	for {
		b.mu.Lock()
		s, ch := b.cur, b.curCh
		b.mu.Unlock()
		if s != nil {
			s.mu.Lock()
			ok := !s.draining && !s.finalized
			s.mu.Unlock()
			if ok && !s.isDone() {
				return s, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (b *bind) status() BindStatus {
	b.mu.Lock()
	st := BindStatus{Name: b.cfg.Name, Operator: b.op.name, Mode: b.cfg.Mode, State: b.state, Since: b.since}
	s := b.cur
	b.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		st.InFlight = s.nSubmits
		s.mu.Unlock()
	}
	return st
}

// noteThrottle slows the sender down after a throttle / queue-full status.
func (b *bind) noteThrottle(now time.Time) {
	b.throttleMu.Lock()
	b.throttleLevel = min(b.throttleLevel+1, 16)
	d := backoff(b.g.cfg.RetryMin, b.g.cfg.RetryMax, b.throttleLevel)
	b.throttleMu.Unlock()
	until := now.Add(d).UnixNano()
	for {
		old := b.pauseUntil.Load()
		if old >= until || b.pauseUntil.CompareAndSwap(old, until) {
			return
		}
	}
}

// throttleBackoff is the retry delay of throttled parts.
func (b *bind) throttleBackoff() time.Duration {
	b.throttleMu.Lock()
	defer b.throttleMu.Unlock()
	return backoff(b.g.cfg.RetryMin, b.g.cfg.RetryMax, max(b.throttleLevel, 1))
}

func (b *bind) noteAccepted() {
	b.throttleMu.Lock()
	b.throttleLevel = 0
	b.throttleMu.Unlock()
}

// backoff is lo·2^(n-1) capped at hi, with jitter.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return jitter(min(d, hi))
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// sleepCtx sleeps d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
